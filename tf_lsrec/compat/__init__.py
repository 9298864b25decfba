"""Microsoft Recommenders import paths, so a deeprec script needs only its imports changed.

Replace ``recommenders.models.deeprec`` by ``tf_lsrec.compat.deeprec``::

    from tf_lsrec.compat.deeprec.deeprec_utils import prepare_hparams
    from tf_lsrec.compat.deeprec.models.sequential.sli_rec import SLI_RECModel
    from tf_lsrec.compat.deeprec.models.sequential.gru import GRUModel
    from tf_lsrec.compat.deeprec.io.sequential_iterator import SequentialIterator

Also ``models.sequential.asvd`` (``A2SVDModel``), ``caser`` (``CaserModel``), ``nextitnet``
(``NextItNetModel``) with ``io.nextitnet_iterator`` (``NextItNetIterator``), ``sum``
(``SUMModel``), and ``recommenders.utils.timer`` / ``constants`` as
``tf_lsrec.compat.utils.timer`` / ``constants``. ``recommenders.datasets.amazon_reviews`` has
no counterpart yet.
"""
