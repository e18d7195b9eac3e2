"""Verifiable secret ballots: exponential ElGamal on BN254, a dealerless t-of-n trustee key, on-chain proofs.

Modules: :mod:`bn254` (curve arithmetic), :mod:`proofs` (ballots, Chaum–Pedersen proofs, decryption),
:mod:`dkg` (trustee key generation), :mod:`keystore` (encrypted trustee secrets), :mod:`credential`
(RSA blind-signature voting credentials), :mod:`client` (contract binding), :mod:`cli` (commands).
"""
