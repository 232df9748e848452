"""The exact population loss of a user's one-layer model (what ``markov-icl evaluate`` prints).

:func:`loss_of` takes a model (a one-layer :class:`~markov_icl.numeric.lsa.DenseLSA`, a
:class:`~markov_icl.numeric.lsa.SparseLSA`, a ``ParamLSA``), a dense ``(P, Q)`` pair with a
read-out sign, or ``(b, A)``, maps it to the enlarged space ``X = phi(sign * b, A)`` (theory
§3) and evaluates ``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` exactly: every float weight is
taken at its exact binary value, so the result is the population loss of exactly those
weights, with no sampling. The data law is a chain law (:class:`~markov_icl.symbolic.laws.ChainLaw`,
numeric p) or any law with ``objective(d, n) -> (H, beta, E[y^2])`` (docs/python.md, "Data laws").

Files (:func:`load_params`), read without running code (``torch.load(weights_only=True)``,
``numpy.load(allow_pickle=False)``):

* ``.pt``: a ``state_dict`` of ``DenseLSA`` (keys ``P.0``, ``Q.0``; one layer), of
  ``SparseLSA`` (``b``, ``A``), of ``ParamLSA`` (``theta``, with ``param=``), or a dict with
  tensors ``P`` and ``Q`` (``(d+1) x (d+1)``, our column layout: ``Z_1 = Z_0 + (1/n) P Z_0 M Z_0^T Q Z_0``);
* ``.npz``: arrays ``P`` and ``Q``, or ``b`` and ``A``, or ``theta`` (with ``param=``).

What is accepted, exactly (:func:`check_array`, used for files and for arrays passed from Python
alike): a regular file of 1 byte to :data:`MAX_MODEL_FILE_BYTES`; a ``.pt`` must be a
``torch.save`` zip archive (PyTorch >= 1.6) holding a dict of at most :data:`MAX_ARRAYS` tensors,
a ``.npz`` a zip archive of at most :data:`MAX_ARRAYS` ``.npy`` members whose headers are read
(dtype, shape) before any data; the uncompressed members together at most
:data:`MAX_MODEL_FILE_BYTES`. Every array: dense (strided layout, on the CPU, not quantized,
not sparse, not ``meta``), of a real dtype in :data:`ACCEPTED_DTYPES` (float16, bfloat16,
float32, float64, and integers of at most 2^53 in magnitude: every value exact in float64),
with 1 or 2 dimensions, each at least 1, at most :data:`MAX_ARRAY_ENTRIES` entries, every
value finite. Everything else (complex, float8, bool, strings, datetimes, structured or
object arrays, 0-d or empty arrays, a zero-byte file) is refused with one line.

Examples:
    >>> from markov_icl import ChainLaw, SparseLSA
    >>> m = SparseLSA(1, seed=0)
    >>> res = loss_of(m, ChainLaw.default("1/2"), d=1, n=5)
    >>> res.f_tilde > 0, abs(float(res.f_tilde) - res.f_tilde_float) < 1e-15
    (True, True)
"""

from __future__ import annotations

import math
import os
import stat
import warnings
import zipfile
from dataclasses import dataclass

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError, shown

FORMATS = (".pt", ".npz")

#: the largest model file (and the largest uncompressed content of its archive) that is read: a one-layer model
#: at d = 64 (the largest trained model) is 0.3 MB
MAX_MODEL_FILE_BYTES = 16 * 2**20

#: arrays (tensors, ``.npy`` members) in one file
MAX_ARRAYS = 64

#: entries of one array (a dense one-layer model at d = 64 holds 2 x 65^2 = 8450)
MAX_ARRAY_ENTRIES = 2**16

#: the dtypes a saved array may have: every value converts to float64 exactly
ACCEPTED_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                   "uint32", "uint64")

#: integers beyond this magnitude are not exact in float64
_MAX_EXACT_INT = 2**53


@dataclass
class ModelLoss:
    """The exact population loss of one model.

    Attributes:
        b, A: the effective parameters (floats; the read-out sign folded into b).
        X: ``phi(b, A)`` as floats.
        f_tilde: the exact loss ``f~(X)`` (a SymPy rational) and ``f_tilde_float`` its float.
        f_tilde_star: the enlarged-space optimum of the same objective (exact).
    """

    b: np.ndarray
    A: np.ndarray
    X: np.ndarray
    f_tilde: sp.Rational
    f_tilde_float: float
    f_tilde_star: sp.Expr | None


def objective_of(law, d: int, n):
    """``(H, beta, E[y^2])`` of a data law at ``(d, n)``: exact SymPy matrices (``beta`` a column) and a number.

    A law with an ``objective(d, n)`` method (e.g. the Gaussian regression family) is asked
    for it; a :class:`~markov_icl.symbolic.laws.ChainLaw` goes through the chain moments
    (:class:`~markov_icl.symbolic.objective.ObjectiveTerms`).
    """
    if hasattr(law, "objective"):
        return law.objective(d, n)
    from markov_icl.symbolic.laws import ChainLaw
    from markov_icl.symbolic.objective import ObjectiveTerms

    if not isinstance(law, ChainLaw):
        raise MarkovICLError(f"expected a data law (a ChainLaw, or an object with objective(d, n)), got "
                             f"{type(law).__name__}")
    H, beta, ey2 = ObjectiveTerms(d, law).numeric(n=n)
    return H.to_Matrix(), beta.to_Matrix(), sp.QQ.to_sympy(ey2)


_ACCEPTED = "real float16, bfloat16, float32, float64 or integer arrays of 1 or 2 dimensions"


def _check_layout(name: str, shape: tuple) -> None:
    """The shape rules of :func:`check_array`."""
    if len(shape) not in (1, 2):
        raise MarkovICLError(f"{name}: a {len(shape)}-d array (shape {shape}); evaluate takes {_ACCEPTED}")
    if min(shape) < 1:
        raise MarkovICLError(f"{name}: an empty array (shape {shape}); evaluate takes {_ACCEPTED}")
    if math.prod(shape) > MAX_ARRAY_ENTRIES:
        raise MarkovICLError(f"{name}: {math.prod(shape)} entries; at most {MAX_ARRAY_ENTRIES} (a one-layer model)")


def _check_numpy_dtype(name: str, dtype: np.dtype) -> str:
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "fiu" or \
            dtype.kind == "f" and dtype.itemsize not in (2, 4, 8):
        raise MarkovICLError(f"{name}: dtype {shown(str(dtype), 40, plain=True)} is not accepted; evaluate takes {_ACCEPTED}")
    return dtype.kind


def check_array(name: str, x) -> np.ndarray:
    """``x`` (a torch tensor, a NumPy array, or nested lists of numbers) as a float64 array, if it is what a
    model file may hold (module docstring: dense, a real dtype of :data:`ACCEPTED_DTYPES`, 1 or 2 dimensions,
    finite values); every value is converted exactly.

    Raises:
        MarkovICLError: one line naming the array, what it is and what is accepted.

    Examples:
        >>> check_array("P", [[1, 0], [0, 0.5]]).dtype
        dtype('float64')
        >>> check_array("P", np.array(["a", "b"]))
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: P: dtype <U1 is not accepted; evaluate takes real float16, bfloat16, \
float32, float64 or integer arrays of 1 or 2 dimensions
    """
    if type(x).__module__.startswith("torch"):
        import torch

        if not isinstance(x, torch.Tensor):
            raise MarkovICLError(f"{name}: a {type(x).__name__}, not a tensor")
        if x.layout != torch.strided or getattr(x, "is_nested", False):
            raise MarkovICLError(f"{name}: a {str(x.layout).replace('torch.', '')} tensor; evaluate takes dense "
                                 f"(strided) {_ACCEPTED}")
        if x.device.type != "cpu" or x.is_quantized:
            what = "a quantized tensor" if x.is_quantized else f"a tensor on the {x.device.type} device"
            raise MarkovICLError(f"{name}: {what}; evaluate takes dense {_ACCEPTED}")
        dt = str(x.dtype).replace("torch.", "")
        if dt not in ACCEPTED_DTYPES:
            raise MarkovICLError(f"{name}: dtype {dt} is not accepted; evaluate takes {_ACCEPTED}")
        _check_layout(name, tuple(x.shape))
        kind = "i" if "int" in dt else "f"
        a = x.detach().resolve_conj().resolve_neg().to(torch.float64).numpy() if kind == "f" else \
            x.detach().numpy()
    else:
        try:
            a = np.asarray(x)
        except (ValueError, TypeError) as exc:  # ragged nested lists
            raise MarkovICLError(f"{name}: not an array of numbers ({shown(str(exc), 80, plain=True)})") from None
        if a.dtype == object:  # nested lists of Python numbers: floats and integers only
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in a.reshape(-1)):
                raise MarkovICLError(f"{name}: not an array of real numbers; evaluate takes {_ACCEPTED}")
            a = a.astype(np.float64)
        kind = _check_numpy_dtype(name, a.dtype)
        _check_layout(name, a.shape)
    if kind in "iu":
        if np.abs(a.astype(object)).max() > _MAX_EXACT_INT:
            raise MarkovICLError(f"{name}: integers beyond 2^53 in magnitude are not exact in float64")
        return a.astype(np.float64)
    a = np.array(a, dtype=np.float64)
    if not np.isfinite(a).all():
        raise MarkovICLError(f"{name}: the model's parameters are not all finite (NaN or infinity)")
    return a


def _to_numpy(x, name: str = "the model's parameters") -> np.ndarray:
    return check_array(name, x)


def effective_params(model_or_params, sign: int = 1, param=None) -> tuple[np.ndarray, np.ndarray]:
    """``(sign * b, A)`` as float64 arrays from a model, a ``(P, Q)`` / ``(b, A)`` pair, a dict of them, or
    ``theta`` of a parameterization (``param``)."""
    from markov_icl.symbolic.param import Parameterization, exact_number, preset

    obj = model_or_params
    if hasattr(obj, "state_dict") and hasattr(obj, "forward"):  # a torch module
        from markov_icl.numeric.lsa import one_layer_params

        tb, tA = one_layer_params(obj)
        return sign * _to_numpy(tb, "b"), _to_numpy(tA, "A")
    if isinstance(obj, dict):
        keys = set(obj)
        if {"P.0", "Q.0"} <= keys:
            if any(k.startswith(("P.1", "Q.1")) for k in keys):
                raise MarkovICLError("the state_dict has more than one layer; evaluate takes one-layer models")
            obj = (_to_numpy(obj["P.0"], "P.0"), _to_numpy(obj["Q.0"], "Q.0"))
        elif {"P", "Q"} <= keys:
            obj = (_to_numpy(obj["P"], "P"), _to_numpy(obj["Q"], "Q"))
        elif {"b", "A"} <= keys:
            b, A = _to_numpy(obj["b"], "b"), _to_numpy(obj["A"], "A")
            if b.ndim != 1 or A.ndim != 2:
                raise MarkovICLError(f"b has shape {b.shape} and A {A.shape}; expected (d+1,) and (d+1, d)")
            return sign * b, A
        elif "theta" in keys:
            if param is None:
                raise MarkovICLError("the file holds theta: name its parameterization (--param NAME)")
            p = param if isinstance(param, Parameterization) else None
            theta = _to_numpy(obj["theta"], "theta").reshape(-1)
            if p is None:
                d = _d_of_theta(param, theta.size)
                p = preset(param, d)
            vals = dict(zip(p.params, map(exact_number, theta)))
            if len(vals) != theta.size:
                raise MarkovICLError(f"theta has {theta.size} entries; {p.name!r} at d = {p.d} has {len(p.params)}")
            b = np.array([float(sp.sympify(x).xreplace(vals)) for x in p.b])
            A = np.array([[float(sp.sympify(x).xreplace(vals)) for x in row] for row in p.A])
            return sign * b, A
        else:
            raise MarkovICLError(f"unrecognised parameters {sorted(keys)[:6]}; expected P.0/Q.0 (DenseLSA), b/A "
                                 "(SparseLSA), P/Q (a dense pair) or theta (with --param)")
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        X, Y = _to_numpy(obj[0], "the first array"), _to_numpy(obj[1], "the second array")
        if X.ndim == 2 and Y.ndim == 2 and X.shape == Y.shape and X.shape[0] == X.shape[1]:  # (P, Q)
            d = X.shape[0] - 1
            return sign * X[d, :], Y[:, :d]
        if X.ndim == 1 and Y.ndim == 2:  # (b, A)
            return sign * X, Y
        raise MarkovICLError(f"expected (P, Q) of shape (d+1, d+1) each or (b, A) of shapes (d+1,), (d+1, d); got "
                             f"{X.shape} and {Y.shape}")
    raise MarkovICLError(f"cannot read one-layer parameters from a {type(obj).__name__}")


def _d_of_theta(name: str, k: int) -> int:
    from markov_icl.symbolic.param import preset

    fits = [d for d in range(1, 65) if len(preset(name, d).params) == k]
    if not fits:
        raise MarkovICLError(f"theta has {k} entries, which matches {name!r} at no d <= 64")
    if len(fits) > 1:
        raise MarkovICLError(f"theta has {k} entries, which matches {name!r} at every d: give d (--d)")
    return fits[0]


def loss_of(model_or_params, law, d: int | None = None, n=None, sign: int = 1, param=None) -> ModelLoss:
    """The exact population loss ``f~(phi(sign * b, A))`` of a one-layer model under ``law`` at ``n`` (module docstring).

    Args:
        model_or_params: a model, a ``(P, Q)`` or ``(b, A)`` pair, or a dict of them (a state_dict).
        law: a ChainLaw with numeric p, or a law with ``objective(d, n)``.
        d: checked against the parameters' shapes (taken from them when None).
        n: the number of context chains (an integer).
        sign: the read-out sign (``-1`` for models read as minus the label entry, e.g. Ahn et al.).
        param: the parameterization of a ``theta`` (a preset name or a Parameterization).

    Raises:
        MarkovICLError: bad shapes, non-finite weights, a d that does not match, a symbolic law.

    Examples:
        >>> import numpy as np
        >>> P, Q = np.zeros((2, 2)), np.zeros((2, 2))
        >>> P[1, 1], Q[0, 0] = 1.0, 10 / 7                    # zfb's optimum at p = 1/2, n = 5 (W11 = 10/7)
        >>> from markov_icl import ChainLaw
        >>> res = loss_of((P, Q), ChainLaw.default("1/2"), d=1, n=5)
        >>> round(res.f_tilde_float, 12), float(res.f_tilde - sp.Rational(8, 21)) < 1e-15
        (0.380952380952, True)
    """
    from markov_icl.symbolic.model import phi
    from markov_icl.symbolic.objective import f_tilde
    from markov_icl.symbolic.param import exact_number

    if sign not in (1, -1):
        raise MarkovICLError(f"the read-out sign must be 1 or -1, got {sign}")
    if n is None:
        raise MarkovICLError("loss_of needs n, the number of context chains")
    if d is not None:
        from markov_icl.errors import check_int

        d = check_int("d", d)
        if isinstance(param, str) and isinstance(model_or_params, dict) and "theta" in model_or_params:
            from markov_icl.symbolic.param import preset

            param = preset(param, d)  # theta's length alone does not say d (gd has one entry at every d)
    b, A = effective_params(model_or_params, sign, param)
    dd = b.shape[0] - 1
    if b.ndim != 1 or A.shape != (dd + 1, dd) or dd < 1:
        raise MarkovICLError(f"b has shape {b.shape} and A {A.shape}; expected (d+1,) and (d+1, d)")
    if d is not None and d != dd:
        raise MarkovICLError(f"the parameters are for d = {dd}, not d = {d}")
    H, beta, ey2 = objective_of(law, dd, n)
    if not all(x.is_Rational for x in (*H, *beta)):
        raise MarkovICLError("the law has free symbols: give every parameter a number")
    X = phi([exact_number(x) for x in b], [[exact_number(x) for x in row] for row in A])
    f = f_tilde(X, H, list(beta), ey2)
    X_float, f_float = np.array([float(x) for x in X]), float(f)
    if not (np.isfinite(X_float).all() and math.isfinite(f_float)):
        top = float(np.abs(np.concatenate([b, A.reshape(-1)])).max())
        raise MarkovICLError(f"the exact loss of these weights is about 10^{_log10(f)} (largest weight {top:.3g}): "
                             "beyond the range of float64, so it is not printed as a float")
    fstar = _f_tilde_star(H, beta, ey2)
    return ModelLoss(b, A, X_float, f, f_float, fstar)


def _log10(x: sp.Rational) -> int:
    """The decimal order of magnitude of a positive exact rational (no float overflow)."""
    x = abs(sp.Rational(x))
    return len(str(x.p)) - len(str(x.q)) if x else 0


def _f_tilde_star(H, beta, ey2):
    """``f~* = E[y^2] - beta^T H^{-1} beta`` (exact; None when H is singular)."""
    from markov_icl.symbolic.param import _exact_f_tilde_star

    try:
        return _exact_f_tilde_star(H, beta, ey2)
    except MarkovICLError:
        return None


def load_params(path: str) -> dict:
    """The arrays of a ``.pt`` or ``.npz`` file (module docstring), without running code from it: the file's size
    and its archive's members (and, for ``.npz``, every array's dtype and shape) are checked before any payload is
    decoded, then every array by :func:`check_array`.

    Returns:
        ``{name: float64 array}``.

    Raises:
        MarkovICLError: a missing file, another extension, or content that is not accepted (module docstring).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise MarkovICLError(f"expected a file name, got {type(path).__name__}")
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise MarkovICLError(f"{shown(path, plain=True)}: expected a .pt (torch state_dict) or .npz file, got "
                             f"{ext or 'no extension'!r}")
    where = shown(path, plain=True)
    try:
        st = os.stat(path)
    except OSError:
        raise MarkovICLError(f"{where}: no such file") from None
    if not stat.S_ISREG(st.st_mode):
        raise MarkovICLError(f"{where}: not a regular file")
    if st.st_size == 0:
        raise MarkovICLError(f"{where}: an empty file (0 bytes)")
    if st.st_size > MAX_MODEL_FILE_BYTES:
        raise MarkovICLError(f"{where}: {st.st_size} bytes; a one-layer model file is at most {MAX_MODEL_FILE_BYTES} "
                             "bytes")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_MODEL_FILE_BYTES + 1)
    except OSError as exc:
        raise MarkovICLError(f"{where}: cannot be read ({exc.strerror})") from None
    import io as _io

    try:
        archive = zipfile.ZipFile(_io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        what = "a torch.save zip archive (PyTorch >= 1.6)" if ext == ".pt" else "an .npz (zip) archive"
        raise MarkovICLError(f"{where}: not {what}") from None
    if len(members) > MAX_ARRAYS + 16:
        raise MarkovICLError(f"{where}: {len(members)} archive members; at most {MAX_ARRAYS} arrays are read")
    if sum(m.file_size for m in members) > MAX_MODEL_FILE_BYTES:
        raise MarkovICLError(f"{where}: its archive holds {sum(m.file_size for m in members)} bytes uncompressed; "
                             f"at most {MAX_MODEL_FILE_BYTES}")
    try:
        raw = _read_npz(archive, members, where) if ext == ".npz" else _read_pt(data)
    except MarkovICLError:
        raise
    except Exception as e:  # noqa: BLE001 - a corrupt file, or one holding objects (refused by weights_only)
        first = (str(e).strip().splitlines() or [""])[0]
        raise MarkovICLError(f"{where}: cannot read it as {ext} ({type(e).__name__}: {shown(first, 120, plain=True)})") \
            from None
    if not isinstance(raw, dict) or not raw:
        raise MarkovICLError(f"{where}: expected a dict of tensors (a state_dict), got "
                             f"{'an empty dict' if isinstance(raw, dict) else type(raw).__name__}")
    if len(raw) > MAX_ARRAYS:
        raise MarkovICLError(f"{where}: {len(raw)} arrays; at most {MAX_ARRAYS}")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise MarkovICLError(f"{where}: a key {shown(key)} that is not a string")
        out[key] = check_array(f"{where}: {shown(key, 40, plain=True)}", value)
    return out


def _read_npz(archive: zipfile.ZipFile, members: list, where: str) -> dict:
    """The arrays of an ``.npz`` archive: every member's ``.npy`` header (dtype, shape) is checked first."""
    out = {}
    for m in members:
        if not m.filename.endswith(".npy"):
            raise MarkovICLError(f"{where}: the member {shown(m.filename, 40)} is not an .npy array")
        name = shown(m.filename[:-4], 40, plain=True)
        with archive.open(m) as fh:
            version = np.lib.format.read_magic(fh)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise MarkovICLError(f"{where}: {name}: .npy format version {version} is not read")
            shape, _, dtype = read_header(fh)
            _check_numpy_dtype(f"{where}: {name}", dtype)
            _check_layout(f"{where}: {name}", tuple(shape))
        with archive.open(m) as fh:
            out[m.filename[:-4]] = np.lib.format.read_array(fh, allow_pickle=False)
    return out


def _read_pt(data: bytes):
    import io as _io

    import torch

    with warnings.catch_warnings():  # e.g. deprecation notes of quantized or sparse tensors: refused below anyway
        warnings.simplefilter("ignore")
        return torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)


__all__ = ["ModelLoss", "loss_of", "load_params", "effective_params", "objective_of", "check_array", "FORMATS",
           "ACCEPTED_DTYPES", "MAX_MODEL_FILE_BYTES", "MAX_ARRAYS", "MAX_ARRAY_ENTRIES"]
