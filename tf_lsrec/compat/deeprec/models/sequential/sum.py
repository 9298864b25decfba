"""Microsoft's ``models.sequential.sum``: SUM with its ``SUM`` / ``SUMV2`` cells."""

from tf_lsrec.models.sum import SUMModel  # noqa: F401
