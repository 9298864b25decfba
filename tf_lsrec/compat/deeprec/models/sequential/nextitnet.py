from tf_lsrec.models.nextitnet import NextItNetModel  # noqa: F401
