from tf_lsrec.io.iterator import SequentialIterator  # noqa: F401
