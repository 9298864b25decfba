from tf_lsrec.models.a2svd import A2SVDModel  # noqa: F401
