"""Microsoft's ``NextItNetIterator`` import path.

tf_lsrec's ``NextItNetModel`` trains on the same ``tf.data`` pipeline as every model (the
iterator argument of a model is accepted and ignored), so this is the ``SequentialIterator``
under Microsoft's name, for notebooks that pass ``NextItNetIterator`` as ``input_creator``.
"""

from tf_lsrec.io.iterator import SequentialIterator


class NextItNetIterator(SequentialIterator):
    """``SequentialIterator`` under Microsoft's NextItNet name (see the module docstring)."""


__all__ = ["NextItNetIterator"]
