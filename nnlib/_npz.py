"""Reading a network's parameters from an .npz file without trusting the file.

An .npz file (what ``np.savez`` writes) is a zip archive with one .npy file per array;
each .npy file starts with a small header giving the array's shape and dtype. Reading
the headers first lets ``Sequential.load`` reject a file that does not fit the network
before reading any data, so a file can never make it decompress more than the network's
own size, and never run code (``allow_pickle=False``).
"""

import zipfile

import numpy as np
from numpy.lib import format as npy

__all__ = ["read_arrays"]


def read_arrays(path, params, owner):
    """The arrays named like ``params`` in the .npz file ``path``, in ``params``' dtypes.

    Raises a ValueError naming ``owner`` unless the file is an .npz archive with exactly
    the keys of ``params``, each a float array of the parameter's shape.
    Values are converted to the parameter's dtype (float64 1e39 becomes inf in float32:
    the caller checks the values after this).
    """
    archive = _open(path, owner)
    with archive:
        members = {name.removesuffix(".npy"): name for name in archive.namelist()}
        missing, extra = sorted(set(params) - set(members)), sorted(set(members) - set(params))
        if missing or extra:
            raise ValueError(
                f"{owner}: {path} does not match this network: missing {missing}, "
                f"unexpected {extra}"
            )
        arrays = {}
        for key, p in params.items():
            with archive.open(members[key]) as member:
                shape, dtype = _header(member, f"{owner}: array {key!r} in {path}")
                if shape != p.shape or dtype.kind != "f":
                    raise ValueError(
                        f"{owner}: parameter {key!r} is {dtype} of shape {shape} in {path}, "
                        f"but this network's is {p.dtype} of shape {p.shape}"
                    )
                a = _data(member, f"{owner}: array {key!r} in {path}")
            with np.errstate(over="ignore"):
                arrays[key] = a.astype(p.dtype)
    return arrays


def _open(path, owner):
    """``path`` as an open zip archive, or an error saying what the file is instead."""
    if not path.is_file():
        raise FileNotFoundError(f"{owner}: there is no file {path}")
    with open(path, "rb") as f:
        start = f.read(8)
    if start.startswith(b"PK"):  # the zip signature
        try:
            return zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise ValueError(f"{owner}: {path} is a damaged zip archive ({error})") from None
    raise ValueError(
        f"{owner}: {path} is {_kind(start)}, not the .npz file of named arrays that "
        "Sequential.save writes"
    )


def _kind(start):
    """What a file starting with the bytes ``start`` is, in words."""
    if not start:
        return "empty (0 bytes)"
    if start.startswith(npy.MAGIC_PREFIX):
        return "a single array (.npy, as np.save writes)"
    if start.startswith(b"\x89HDF"):
        return "an HDF5 file (such as a Keras .h5 model)"
    if start.startswith(b"\x80"):
        return "a Python pickle (never loaded: unpickling can run any code)"
    try:
        start.decode("utf-8")
    except UnicodeDecodeError:
        return "in another format"
    return "text"


def _header(member, what):
    """(shape, dtype) from the header of the .npy file ``member``; its data is not read."""
    try:
        version = npy.read_magic(member)
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read(member)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"{what} is not a NumPy array ({error})") from None
    return shape, dtype


def _data(member, what):
    """The whole array in the .npy file ``member``; nothing may follow it."""
    try:
        member.seek(0)
        a = npy.read_array(member, allow_pickle=False)  # reads only what the header says
        if member.read(1):  # reading to the end also checks the archive's checksum
            raise ValueError("more data than its header says")
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"{what} is damaged ({error})") from None
    return a
