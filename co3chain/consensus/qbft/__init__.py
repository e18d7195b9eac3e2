"""QBFT consensus: extraData codec and block hashing (``extradata``, ``hashing``), messages and engine.

The block-format modules (``extradata``, ``hashing``) follow Besu's QBFT encoding byte for byte so that
blocks produced here can be checked by any tool that understands Besu QBFT chains.
"""
