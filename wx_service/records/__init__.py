"""The certificate as files: the PDF to print and the PNG to long-press-save in WeChat (``files``)."""
