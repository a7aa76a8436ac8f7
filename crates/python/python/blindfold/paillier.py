"""Paillier homomorphic encryption of numpy arrays: the key owner
encrypts, anyone with the public key adds and multiplies by plaintext
arrays, only the key owner decrypts.

>>> import numpy as np
>>> from blindfold import paillier
>>> secret = paillier.generate_keys(2048)
>>> x = secret.public_key.encrypt(np.array([[1.5, -2.0]]))
>>> secret.decrypt(x @ np.array([[2.0], [1.0]]) + 1.0)
array([[2.]])
"""

from __future__ import annotations

from typing import Tuple, Union

import numpy as np

from . import _blindfold
from ._arrays import as_float64

Plain = Union[np.ndarray, float, int]


class EncryptedTensor:
    """Ciphertexts of a real tensor (signed fixed point, 32 fractional bits
    per encoding). ``+`` with another encrypted tensor (same key, shape and
    scale) or a plaintext array; ``*`` (element-wise) and ``@`` by plaintext
    arrays; unary ``-``. An operation whose result could leave the key's
    range is refused with a ``ValueError``."""

    __slots__ = ("_inner",)

    def __init__(self, inner: "_blindfold.EncryptedTensor") -> None:
        self._inner = inner

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self._inner.shape)

    @property
    def public_key(self) -> "PublicKey":
        return PublicKey(self._inner.public_key)

    def __repr__(self) -> str:
        return repr(self._inner)

    def __add__(self, other: Union["EncryptedTensor", Plain]) -> "EncryptedTensor":
        if isinstance(other, EncryptedTensor):
            return EncryptedTensor(self._inner.add(other._inner))
        return EncryptedTensor(self._inner.add_plain(as_float64(other, "+ operand")))

    __radd__ = __add__

    def __sub__(self, other: Union["EncryptedTensor", Plain]) -> "EncryptedTensor":
        if isinstance(other, EncryptedTensor):
            return self + (-other)
        return self + (-as_float64(other, "- operand"))

    def __rsub__(self, other: Plain) -> "EncryptedTensor":
        return (-self) + other

    def __mul__(self, other: Plain) -> "EncryptedTensor":
        if isinstance(other, EncryptedTensor):
            raise TypeError("Paillier multiplies only by plaintext: encrypted * encrypted is not possible")
        return EncryptedTensor(self._inner.mul_plain(as_float64(other, "* operand")))

    __rmul__ = __mul__

    def __matmul__(self, other: np.ndarray) -> "EncryptedTensor":
        if isinstance(other, EncryptedTensor):
            raise TypeError("Paillier multiplies only by plaintext: encrypted @ encrypted is not possible")
        return EncryptedTensor(self._inner.matmul_plain(as_float64(other, "@ operand")))

    def __neg__(self) -> "EncryptedTensor":
        return EncryptedTensor(self._inner.neg())

    def to_bytes(self) -> bytes:
        """The ciphertexts with their public key, shape and scale: what a
        client sends a server (``EncryptedTensor.from_bytes`` reads it)."""
        return bytes(self._inner.to_bytes())

    @staticmethod
    def from_bytes(data: bytes) -> "EncryptedTensor":
        """Reads ``to_bytes``'s encoding; every ciphertext is checked
        against the key. The bound on the values travels with them: the
        sender vouches for it."""
        return EncryptedTensor(_blindfold.EncryptedTensor.from_bytes(bytes(data)))

    def __reduce__(self):
        return (EncryptedTensor.from_bytes, (self.to_bytes(),))


class PublicKey:
    """Encrypts; computing on ciphertexts needs nothing else."""

    __slots__ = ("_inner",)

    def __init__(self, inner: "_blindfold.PublicKey") -> None:
        self._inner = inner

    @property
    def bits(self) -> int:
        return self._inner.bits

    def encrypt(self, x: Plain) -> EncryptedTensor:
        """Encrypts every element of ``x``."""
        return EncryptedTensor(self._inner.encrypt(as_float64(x, "x")))

    def to_bytes(self) -> bytes:
        """The public key's encoding (``PublicKey.from_bytes`` reads it)."""
        return bytes(self._inner.to_bytes())

    @staticmethod
    def from_bytes(data: bytes) -> "PublicKey":
        return PublicKey(_blindfold.PublicKey.from_bytes(bytes(data)))

    def __reduce__(self):
        return (PublicKey.from_bytes, (self.to_bytes(),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return repr(self._inner)


class PrivateKey:
    """The key owner's key pair (its primes never leave the object)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: "_blindfold.PrivateKey") -> None:
        self._inner = inner

    @property
    def bits(self) -> int:
        return self._inner.bits

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self._inner.public_key)

    def encrypt(self, x: Plain) -> EncryptedTensor:
        """Encrypts as the key owner (CRT; about four times faster)."""
        return EncryptedTensor(self._inner.encrypt(as_float64(x, "x")))

    def decrypt(self, x: EncryptedTensor) -> np.ndarray:
        """Decrypts and decodes to float64."""
        if not isinstance(x, EncryptedTensor):
            raise TypeError(f"decrypt: an EncryptedTensor, not {type(x).__name__}")
        return self._inner.decrypt(x._inner)

    def to_bytes(self) -> bytes:
        """The key pair's encoding, primes included: keep it secret
        (pickling a private key writes the same bytes)."""
        return bytes(self._inner.to_bytes())

    @staticmethod
    def from_bytes(data: bytes) -> "PrivateKey":
        return PrivateKey(_blindfold.PrivateKey.from_bytes(bytes(data)))

    def __reduce__(self):
        return (PrivateKey.from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        return repr(self._inner)


def generate_keys(bits: int = 2048) -> PrivateKey:
    """A fresh key pair of ``bits`` (2048, 3072 or 4096), from the OS CSPRNG."""
    if not isinstance(bits, int) or isinstance(bits, bool):
        raise TypeError(f"bits: an int, not {type(bits).__name__}")
    return PrivateKey(_blindfold.generate_keys(bits))


__all__ = ["EncryptedTensor", "PrivateKey", "PublicKey", "generate_keys"]
