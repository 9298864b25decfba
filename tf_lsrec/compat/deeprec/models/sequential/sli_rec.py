from tf_lsrec.models.sli_rec import SLI_RECModel  # noqa: F401
