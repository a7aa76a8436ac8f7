"""Paillier from numpy: encrypt, compute on ciphertexts with plaintext
arrays, decrypt; what cannot be computed is refused."""

import numpy as np
import pytest

from blindfold import paillier


@pytest.fixture(scope="module")
def keys():
    return paillier.generate_keys(2048)


def test_round_trips_and_homomorphic_operations(keys):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 4)) * 100, rng.normal(size=(3, 4))
    w, v = rng.normal(size=(4, 2)), rng.normal(size=4)
    public = keys.public_key
    ex, ey = public.encrypt(x), keys.encrypt(y)
    assert ex.shape == (3, 4) and public.bits == 2048
    np.testing.assert_allclose(keys.decrypt(ex), x, atol=1e-9)
    np.testing.assert_allclose(keys.decrypt(ex + ey), x + y, atol=1e-9)
    np.testing.assert_allclose(keys.decrypt(ex + y - 2.5), x + y - 2.5, atol=1e-9)
    np.testing.assert_allclose(keys.decrypt(-ex), -x, atol=1e-9)
    np.testing.assert_allclose(keys.decrypt(ex * y), x * y, atol=1e-6)
    np.testing.assert_allclose(keys.decrypt(3 * ex), 3 * x, atol=1e-6)
    np.testing.assert_allclose(keys.decrypt(ex @ w), x @ w, atol=1e-6)
    np.testing.assert_allclose(keys.decrypt(ex @ v), x @ v, atol=1e-6)
    # Different scales meet exactly: x·y (64 fractional bits) − x (32).
    np.testing.assert_allclose(keys.decrypt(ex * y - ex), x * y - x, atol=1e-6)
    # Fresh randomness: the same plaintext encrypts differently.
    assert repr(keys).endswith("<redacted>)")


def test_impossible_or_unsafe_operations_are_refused(keys):
    ex = keys.public_key.encrypt(np.ones((2, 2)))
    with pytest.raises(TypeError, match="only by plaintext"):
        ex * ex
    with pytest.raises(ValueError, match="shapes"):
        ex + np.ones((3, 3))
    with pytest.raises(ValueError, match="multiply"):
        ex @ np.ones((3, 1))
    with pytest.raises(ValueError, match="different keys"):
        ex + paillier.generate_keys(2048).public_key.encrypt(np.ones((2, 2)))
    with pytest.raises(ValueError, match="n/2"):
        big = ex
        for _ in range(40):
            big = big * 1e6
    with pytest.raises(ValueError, match="2048, 3072 or 4096"):
        paillier.generate_keys(1024)
    with pytest.raises(TypeError, match="dtype"):
        keys.public_key.encrypt(np.array(["a"]))


def test_keys_and_ciphertexts_travel_as_bytes_and_pickles(keys):
    import pickle

    x = np.array([[1.25, -3.5], [0.0, 1e3]])
    encrypted = keys.public_key.encrypt(x)
    # The client sends its public key and ciphertexts; the server computes.
    public = paillier.PublicKey.from_bytes(keys.public_key.to_bytes())
    received = paillier.EncryptedTensor.from_bytes(encrypted.to_bytes())
    assert public == keys.public_key and received.shape == (2, 2)
    reply = pickle.loads(pickle.dumps(received @ np.array([[2.0], [1.0]]) + 1.0))
    np.testing.assert_allclose(keys.decrypt(reply), x @ [[2.0], [1.0]] + 1.0, atol=1e-6)
    # The key pair too (its bytes are secret).
    restored = pickle.loads(pickle.dumps(keys))
    np.testing.assert_allclose(restored.decrypt(encrypted), x, atol=1e-9)
    assert paillier.PrivateKey.from_bytes(keys.to_bytes()).public_key == keys.public_key
    # Tampered bytes are refused, not misread.
    data = bytearray(encrypted.to_bytes())
    with pytest.raises(ValueError):
        paillier.EncryptedTensor.from_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ValueError):
        paillier.PublicKey.from_bytes(b"not a key")
    with pytest.raises(ValueError):
        paillier.PrivateKey.from_bytes(keys.public_key.to_bytes())
