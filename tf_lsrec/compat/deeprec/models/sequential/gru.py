from tf_lsrec.models.gru4rec import GRUModel  # noqa: F401
