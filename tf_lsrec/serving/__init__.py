"""TF Serving export: versioned SavedModels with raw-id signatures (docs/serving.md)."""

from tf_lsrec.serving.catalogue import Catalogue, build_catalogue
from tf_lsrec.serving.exporter import EXPORT_INFO, export, next_version
from tf_lsrec.serving.signatures import SIGNATURE_INPUTS, ServingModule
from tf_lsrec.serving.warmup import WarmupRequest, read_warmup_file, write_warmup_file

__all__ = [
    "EXPORT_INFO",
    "SIGNATURE_INPUTS",
    "Catalogue",
    "ServingModule",
    "WarmupRequest",
    "build_catalogue",
    "export",
    "next_version",
    "read_warmup_file",
    "write_warmup_file",
]
