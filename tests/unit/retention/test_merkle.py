"""The Merkle tree of the checkpoints against RFC 6962: published tree heads, and every proof of small trees."""

from __future__ import annotations

import hashlib

import pytest

from retention import merkle

# The leaves and tree heads published with the Certificate Transparency reference implementation (RFC 6962 trees)
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# The audit path of leaf 0 in the tree of 8 published with them
CT_PATH_0_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
SIZES = range(1, 18)  # 1..9 as the brief asks, up to 17 so every split shape up to two levels of ragged trees


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH written straight from the RFC's recursive definition, to check the bottom-up one against."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


def hashed(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(n)]


def test_tree_heads_match_the_published_ones() -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in CT_LEAVES]
    for n, expected in enumerate(CT_ROOTS):
        assert merkle.root(hashes[:n]).hex() == expected, n
    assert [p.hex() for p in merkle.inclusion_proof(0, hashes)] == CT_PATH_0_8
    assert merkle.leaf_hash(b"") == bytes.fromhex(CT_ROOTS[1])


@pytest.mark.parametrize("n", range(0, 40))
def test_bottom_up_head_is_the_recursive_one(n: int) -> None:
    assert merkle.root(hashed(n)) == reference_root(hashed(n))


@pytest.mark.parametrize("n", SIZES)
def test_every_leaf_proves_inclusion_and_nothing_else_does(n: int) -> None:
    leaves = hashed(n)
    head = merkle.root(leaves)
    for i in range(n):
        proof = merkle.inclusion_proof(i, leaves)
        assert merkle.verify_inclusion(i, n, leaves[i], proof, head), (i, n)
        assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"forged"), proof, head)
        assert not merkle.verify_inclusion(i, n, leaves[i], proof, merkle.leaf_hash(b"other head"))
        for j in range(len(proof)):
            bent = [*proof[:j], merkle.leaf_hash(b"x"), *proof[j + 1 :]]
            assert not merkle.verify_inclusion(i, n, leaves[i], bent, head)
        if proof:
            assert not merkle.verify_inclusion(i, n, leaves[i], proof[:-1], head)
        assert not merkle.verify_inclusion(i, n, leaves[i], [*proof, head], head)
        for other in range(n):
            if other != i:  # the same path at another position leads elsewhere
                assert not merkle.verify_inclusion(other, n, leaves[i], proof, head), (i, other, n)
    assert not merkle.verify_inclusion(n, n, leaves[0], [], head)


@pytest.mark.parametrize("n", SIZES)
def test_every_old_size_is_consistent_with_every_newer_one(n: int) -> None:
    leaves = hashed(n)
    new_head = merkle.root(leaves)
    for m in range(0, n + 1):
        old_head = merkle.root(leaves[:m])
        proof = merkle.consistency_proof(m, leaves)
        assert merkle.verify_consistency(m, n, old_head, new_head, proof), (m, n)
        assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"forged old"), new_head, proof)
        if m > 0:  # the empty tree is a prefix of any tree, whatever its head
            assert not merkle.verify_consistency(m, n, old_head, merkle.leaf_hash(b"forged new"), proof)
        for j in range(len(proof)):
            bent = [*proof[:j], merkle.leaf_hash(b"x"), *proof[j + 1 :]]
            assert not merkle.verify_consistency(m, n, old_head, new_head, bent), (m, n, j)
        if proof:
            assert not merkle.verify_consistency(m, n, old_head, new_head, proof[:-1])


@pytest.mark.parametrize("n", SIZES)
def test_a_rewritten_prefix_is_not_consistent(n: int) -> None:
    """A history with one old leaf replaced (a manifest version swapped out) has no consistency proof from the
    old head: the prover's honest proof over the rewritten history fails."""
    leaves = hashed(n)
    for m in range(1, n):
        old_head = merkle.root(leaves[:m])
        for changed in range(m):
            rewritten = [*leaves[:changed], merkle.leaf_hash(b"swapped"), *leaves[changed + 1 :]]
            proof = merkle.consistency_proof(m, rewritten)
            assert not merkle.verify_consistency(m, n, old_head, merkle.root(rewritten), proof), (m, n, changed)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="leaf index"):
        merkle.inclusion_proof(3, hashed(3))
    with pytest.raises(ValueError, match="old size"):
        merkle.consistency_proof(4, hashed(3))
    assert merkle.consistency_proof(0, hashed(3)) == []
    assert merkle.consistency_proof(3, hashed(3)) == []
    assert not merkle.verify_consistency(3, 2, merkle.root(hashed(3)), merkle.root(hashed(2)), [])
    assert not merkle.verify_consistency(2, 2, merkle.root(hashed(2)), merkle.root(hashed(2)), [b"x" * 32])
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, merkle.root(hashed(5)), [])
    assert not merkle.verify_consistency(0, 5, merkle.leaf_hash(b"x"), merkle.root(hashed(5)), [])
