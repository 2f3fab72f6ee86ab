"""What photographers' files hold besides 8-bit sRGB pixels, read and written for :mod:`dpst.io`:
colour profiles (:mod:`.profiles`), EXIF and XMP (:mod:`.metadata`), and the formats and bit depths
Pillow alone cannot read or write (:mod:`.formats`: 16-bit PNG and TIFF, HEIC, raw files).

The packages behind them (``pillow-heif``, ``rawpy``, ``tifffile``, ``imagecodecs``) are the
``dpst[photo]`` extra, imported only when a file needs them (docs/photographers.md).
"""
