from tf_lsrec.models.caser import CaserModel  # noqa: F401
