"""File I/O at the edges of epur: one way in, one way out.

**Reading.** Every file the CLI reads is first checked with ``os.stat`` (symbolic links
followed): what is not a regular file (a folder, a FIFO, a device such as ``/dev/zero``)
is refused before it is opened, and the file is then opened without blocking and
checked again. ``read_mapping`` reads network and architecture files (YAML or TOML, at
most ``MAX_MAPPING_BYTES``, nested at most ``MAX_MAPPING_DEPTH`` levels, at most
``MAX_MAPPING_VALUES`` values once YAML aliases are expanded; YAML tags are refused by
``yaml.safe_load``). ``read_arrays`` reads ``.npy``/``.npz`` inputs: each array's header is
read first, and object arrays (pickles), arrays declaring more data than the file holds
and arrays over ``MAX_ARRAY_BYTES`` in all are refused before anything is allocated.

**Writing.** ``write_text``/``write_bytes``/``write_npz`` write one file through a
temporary file in the same folder and a rename; ``write_folder`` writes a folder of files
into a temporary sibling folder and renames it into place as its last step. Either way a
failure or Ctrl-C leaves the complete result or nothing, and no temporary file. The
``check_output_*`` functions refuse an unwritable output before the work starts.

Every failure is one ``EpurError`` line naming the flag, the path (``shown``: quoted when
it holds a newline or another control character) and the reason.
"""

from epur._files._common import shown
from epur._files.read import (
    MAX_ARRAY_BYTES,
    MAX_MAPPING_BYTES,
    MAX_MAPPING_DEPTH,
    MAX_MAPPING_VALUES,
    read_arrays,
    read_mapping,
    regular_file,
)
from epur._files.write import (
    check_output_file,
    check_output_folder,
    write_bytes,
    write_folder,
    write_npz,
    write_text,
)

__all__ = [
    "MAX_ARRAY_BYTES",
    "MAX_MAPPING_BYTES",
    "MAX_MAPPING_DEPTH",
    "MAX_MAPPING_VALUES",
    "check_output_file",
    "check_output_folder",
    "read_arrays",
    "read_mapping",
    "regular_file",
    "shown",
    "write_bytes",
    "write_folder",
    "write_npz",
    "write_text",
]
