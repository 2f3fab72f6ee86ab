"""``dpst serve``: a local web app on top of the API (Gradio, the ``dpst[web]`` extra).

The page is built in :mod:`.app`; what it does lives in plain functions that need no browser and no
Gradio: :mod:`.sessions` (one folder of files per browser session, deleted when it ends),
:mod:`.queue` (runs one at a time, first come first served, each waiting run told its place),
:mod:`.masks` (automatic masks, corrective strokes, overlays) and :mod:`.runs` (settings, a run with
progress and Stop, the result files and the equivalent command line).
"""

from __future__ import annotations
