from tf_lsrec.models.base import SequentialModel as SequentialBaseModel  # noqa: F401
