"""Mirror of ``recommenders.models.deeprec`` (see ``tf_lsrec.compat``)."""
