"""Microsoft's ``models.sequential.sum`` (SUM, Lian et al. WSDM'21) is not ported."""

raise NotImplementedError(
    "SUMModel (recommenders.models.deeprec.models.sequential.sum) is not implemented in "
    "tf_lsrec; the sequential models available are: sli_rec, gru (gru4rec), asvd (a2svd), "
    "caser, nextitnet, din, dien, ncf, sasrec, bert4rec, clsr, slsrec (tf_lsrec.models.MODELS)"
)
