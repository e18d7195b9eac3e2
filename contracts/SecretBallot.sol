// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {BN254} from "./libraries/BN254.sol";
import {BlindRsa} from "./libraries/BlindRsa.sol";

/**
 * @title SecretBallot
 * @notice Verifiable secret ballots: exponential ElGamal on BN254 to a t-of-n PA trustee key made by a
 * dealerless key generation (Joint-Feldman) run through this contract; every ballot proof, every partial
 * decryption proof and the final tally are checked here, so anyone can trust the count without trusting
 * the trustees, the relayer or the registrar with more than the documented limits (docs/secret-ballot.md).
 *
 * Life cycle:
 * 1. the admin (the timelock executor) opens a key ceremony for a trustee set and threshold;
 * 2. each trustee posts a transport key, then a dealing (Feldman commitments + shares encrypted to the
 *    other trustees' transport keys), then checks its shares and confirms (or proves a bad share with
 *    {complain}, which disqualifies the dealer); the election key is the sum of the qualified dealers'
 *    constant-term commitments and becomes usable once every trustee confirmed;
 * 3. an election manager creates an election over a completed ceremony and an admin-approved registrar
 *    RSA key (anonymous credentials: RSA blind signatures, RFC 9474 style PSS encoding with SHA-256);
 * 4. citizens' fresh keys cast ballots through any relayer; each option's ciphertext carries a 0/1 proof,
 *    the ballot a "sum is 1" proof; the contract accumulates ciphertexts; a re-vote replaces the last ballot;
 * 5. after the end, trustees post partial decryptions with proofs; anyone finalizes with t of them and the
 *    claimed counts, which are checked as `B - sum(lambda_i D_i) == count * G`.
 *
 * Fiat–Shamir challenges are `keccak256(domain ‖ kind ‖ points…) mod N` with the domain binding chain id,
 * this contract, the election (or ceremony) id and the voter (or trustee): no proof replays elsewhere.
 */
contract SecretBallot is AccessControl {
    using BN254 for BN254.G1;

    // ------------------------------------------------------------------ types

    /// @notice An ElGamal ciphertext `(a, b) = (rG, mG + rY)`.
    struct Cipher {
        BN254.G1 a;
        BN254.G1 b;
    }

    /// @notice Disjunctive Chaum–Pedersen proof that a ciphertext holds 0 or 1.
    struct BitProof {
        uint256 c0;
        uint256 c1;
        uint256 z0;
        uint256 z1;
    }

    /// @notice Chaum–Pedersen / Schnorr proof `(challenge, response)`.
    struct Proof {
        uint256 c;
        uint256 z;
    }

    /// @notice A ballot as relayed: the voter's credential address, its per-election sequence number, the
    /// ciphertexts and proofs.
    struct Ballot {
        address voter;
        uint64 nonce;
        Cipher[] ciphertexts;
        BitProof[] bitProofs;
        Proof sumProof;
    }

    struct Ceremony {
        uint8 trustees;
        uint8 threshold;
        uint8 transportKeys;
        uint8 dealings;
        uint8 confirmations;
        uint8 disqualified;
        bool complete;
    }

    struct Election {
        uint256 ceremonyId;
        uint256 registrarKeyId;
        uint256 proposalId;
        uint64 start;
        uint64 end;
        uint8 options;
        uint32 voters;
        uint8 decryptions;
        bool tallied;
    }

    struct Voter {
        uint64 nonce;
        bytes32 ballotHash;
    }

    struct RsaKey {
        bytes modulus;
        bytes exponent;
        bool active;
    }

    // ------------------------------------------------------------------ constants

    /// @notice Role allowed to create elections (granted by the admin, e.g. to governance or PA officers).
    bytes32 public constant ELECTION_MANAGER_ROLE = keccak256("ELECTION_MANAGER_ROLE");
    /// @notice Upper bound of trustees per ceremony (bounds every loop over trustees).
    uint256 public constant MAX_TRUSTEES = 16;
    /// @notice Upper bound of options per election (bounds every loop over options).
    uint256 public constant MAX_OPTIONS = 16;

    bytes32 public constant BALLOT_TAG = keccak256("co3chain.SecretBallot.ballot.v1");
    bytes32 public constant DECRYPT_TAG = keccak256("co3chain.SecretBallot.decrypt.v1");
    bytes32 public constant CEREMONY_TAG = keccak256("co3chain.SecretBallot.ceremony.v1");
    bytes32 public constant CREDENTIAL_TAG = keccak256("co3chain.SecretBallot.credential.v1");
    bytes32 public constant BALLOT_SIGNATURE_TAG = keccak256("co3chain.SecretBallot.ballot-signature.v1");

    uint256 private constant KIND_BIT = 1;
    uint256 private constant KIND_SUM = 2;
    uint256 private constant KIND_DECRYPT = 3;
    uint256 private constant KIND_COEFF_POK = 4;
    uint256 private constant KIND_TRANSPORT_POK = 5;
    uint256 private constant KIND_COMPLAINT = 6;

    // ------------------------------------------------------------------ storage

    uint256 public ceremonyCount;
    uint256 public electionCount;
    uint256 public registrarKeyCount;

    mapping(uint256 ceremonyId => Ceremony) private _ceremonies;
    mapping(uint256 ceremonyId => address[]) private _trustees;
    mapping(uint256 ceremonyId => mapping(address trustee => uint256 index)) private _trusteeIndex;
    mapping(uint256 ceremonyId => mapping(uint256 index => BN254.G1)) private _transportKeys;
    mapping(uint256 ceremonyId => mapping(uint256 index => bool)) private _dealt;
    mapping(uint256 ceremonyId => BN254.G1[]) private _aggregate;
    mapping(uint256 ceremonyId => mapping(uint256 index => BN254.G1[])) private _dealerCommitments;
    mapping(uint256 ceremonyId => mapping(uint256 index => bytes32)) private _dealingHash;
    mapping(uint256 ceremonyId => mapping(uint256 index => BN254.G1)) private _ephemeral;
    mapping(uint256 ceremonyId => mapping(uint256 index => bool)) private _confirmed;
    mapping(uint256 ceremonyId => mapping(uint256 index => bool)) private _disqualified;

    mapping(uint256 keyId => RsaKey) private _registrarKeys;
    mapping(uint256 keyId => uint256 electionId) private _registrarKeyElection;

    mapping(uint256 electionId => Election) private _elections;
    mapping(uint256 electionId => Cipher[]) private _totals;
    mapping(uint256 electionId => mapping(address voter => Voter)) private _voters;
    mapping(uint256 electionId => mapping(bytes32 nullifier => bool)) private _nullifierUsed;
    mapping(uint256 electionId => mapping(uint256 index => BN254.G1[])) private _partials;
    mapping(uint256 electionId => uint256[]) private _results;

    // ------------------------------------------------------------------ events

    event CeremonyOpened(uint256 indexed ceremonyId, address[] trustees, uint8 threshold);
    event TransportKeyPosted(
        uint256 indexed ceremonyId, uint256 indexed index, address trustee, BN254.G1 key, Proof pok
    );
    event DealingPosted(
        uint256 indexed ceremonyId,
        uint256 indexed index,
        BN254.G1[] commitments,
        uint256[] encryptedShares,
        BN254.G1 ephemeral,
        Proof pok
    );
    event CeremonyCompleted(uint256 indexed ceremonyId, BN254.G1 electionKey);
    /// @notice Trustee `index` checked every qualified dealer's share against the commitments.
    event SharesConfirmed(uint256 indexed ceremonyId, uint256 indexed index);
    /// @notice A complaint proved that `dealer` gave `complainant` a share that does not match its commitments;
    /// the dealer's polynomial is removed from the election key.
    event DealerDisqualified(uint256 indexed ceremonyId, uint256 indexed dealer, uint256 indexed complainant);
    event RegistrarKeyAdded(uint256 indexed keyId, bytes modulus, bytes exponent);
    event RegistrarKeyRevoked(uint256 indexed keyId);
    event ElectionCreated(
        uint256 indexed electionId,
        uint256 indexed ceremonyId,
        uint256 indexed proposalId,
        uint256 registrarKeyId,
        uint8 options,
        uint64 start,
        uint64 end
    );
    /// @notice A ballot was accepted; `replaced` tells a re-vote (the previous ballot was subtracted).
    event BallotCast(uint256 indexed electionId, address indexed voter, bool replaced, Ballot ballot);
    event DecryptionPosted(uint256 indexed electionId, uint256 indexed index, BN254.G1[] shares, Proof[] proofs);
    event TallyFinalized(uint256 indexed electionId, uint256[] trusteeIndices, uint256[] counts);

    // ------------------------------------------------------------------ errors

    error InvalidTrusteeSet();
    error UnknownCeremony(uint256 ceremonyId);
    error NotTrustee(uint256 ceremonyId, address account);
    error AlreadyPosted();
    error TransportKeysMissing(uint256 ceremonyId);
    error CeremonyIncomplete(uint256 ceremonyId);
    error DealingsIncomplete(uint256 ceremonyId);
    error CeremonyAlreadyComplete(uint256 ceremonyId);
    error FalseComplaint(uint256 dealer);
    error NotDisqualifiable(uint256 dealer);
    error LengthMismatch();
    error InvalidProof(uint256 index);
    error InvalidScalar();
    error InvalidRegistrarKey();
    error UnknownRegistrarKey(uint256 keyId);
    error RegistrarKeyInUse(uint256 keyId, uint256 electionId);
    error InvalidElection();
    error UnknownElection(uint256 electionId);
    error VotingClosed(uint256 electionId);
    error VotingNotEnded(uint256 electionId);
    error BadNonce(uint64 expected, uint64 given);
    error InvalidCredential();
    error NullifierUsed(bytes32 nullifier);
    error InvalidVoterSignature();
    error PreviousBallotMismatch();
    error InvalidTrusteeIndices();
    error WrongTally(uint256 option);
    error AlreadyTallied(uint256 electionId);

    // ------------------------------------------------------------------ admin

    /// @param admin Receives DEFAULT_ADMIN_ROLE: the timelock executor of the suite (no EOA after deploy).
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /**
     * @notice Open a key ceremony for `trustees` (distinct, non-zero, at most {MAX_TRUSTEES}) with
     * decryption threshold `threshold` (1..n). Trustee i (1-based) is `trustees[i-1]`.
     */
    function openCeremony(address[] calldata trustees, uint8 threshold)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint256 ceremonyId)
    {
        uint256 n = trustees.length;
        if (n == 0 || n > MAX_TRUSTEES || threshold == 0 || threshold > n) revert InvalidTrusteeSet();
        ceremonyId = ++ceremonyCount;
        for (uint256 i = 0; i < n; ++i) {
            address t = trustees[i];
            if (t == address(0) || _trusteeIndex[ceremonyId][t] != 0) revert InvalidTrusteeSet();
            _trusteeIndex[ceremonyId][t] = i + 1;
        }
        _trustees[ceremonyId] = trustees;
        _ceremonies[ceremonyId] = Ceremony(uint8(n), threshold, 0, 0, 0, 0, false);
        emit CeremonyOpened(ceremonyId, trustees, threshold);
    }

    /**
     * @notice Approve a registrar's RSA public key for anonymous credentials. The modulus must be a whole
     * number of bytes (top bit set), 2048 to 4096 bits; the exponent non-empty.
     * @dev A key serves exactly one election (enforced in {createElection}): the registrar cannot see the
     * election id inside a blinded message, so with a key shared across elections a citizen could ask "for
     * election A" and obtain a credential for election B. One key per election makes "once per citizen per
     * election" enforceable by the registrar's issuance log.
     */
    function addRegistrarKey(bytes calldata modulus, bytes calldata exponent)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint256 keyId)
    {
        if (modulus.length < 256 || modulus.length > 512 || uint8(modulus[0]) < 0x80 || exponent.length == 0
            || exponent.length > 32) revert InvalidRegistrarKey();
        keyId = ++registrarKeyCount;
        _registrarKeys[keyId] = RsaKey(modulus, exponent, true);
        emit RegistrarKeyAdded(keyId, modulus, exponent);
    }

    /// @notice Stop accepting new credentials signed with `keyId` (ballots already cast stay counted).
    function revokeRegistrarKey(uint256 keyId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_registrarKeys[keyId].active) revert UnknownRegistrarKey(keyId);
        _registrarKeys[keyId].active = false;
        emit RegistrarKeyRevoked(keyId);
    }

    // ------------------------------------------------------------------ key ceremony

    /// @notice Post this trustee's transport key (receives the other trustees' shares) with a proof of possession.
    function postTransportKey(uint256 ceremonyId, BN254.G1 calldata key, Proof calldata pok) external {
        uint256 index = _requireTrustee(ceremonyId);
        if (!BN254.isInfinity(_transportKeys[ceremonyId][index])) revert AlreadyPosted();
        BN254.G1 memory k = key;
        if (k.isInfinity()) revert InvalidProof(0);
        _checkSchnorr(_ceremonyDomain(ceremonyId, msg.sender), KIND_TRANSPORT_POK, k, pok);
        _transportKeys[ceremonyId][index] = k;
        _ceremonies[ceremonyId].transportKeys += 1;
        emit TransportKeyPosted(ceremonyId, index, msg.sender, k, pok);
    }

    /**
     * @notice Post this trustee's dealing: `threshold` Feldman commitments to its secret polynomial, one
     * encrypted share per trustee (in trustee order, padded with a key derived from `ephemeral` and the
     * recipient's transport key), and a proof of knowledge of the constant term. Recipients check their
     * share against the commitments off-chain (see co3chain/ballot/dkg.py).
     */
    function postDealing(
        uint256 ceremonyId,
        BN254.G1[] calldata commitments,
        uint256[] calldata encryptedShares,
        BN254.G1 calldata ephemeral,
        Proof calldata pok
    ) external {
        uint256 index = _requireTrustee(ceremonyId);
        Ceremony storage c = _ceremonies[ceremonyId];
        if (c.transportKeys != c.trustees) revert TransportKeysMissing(ceremonyId);
        if (_dealt[ceremonyId][index]) revert AlreadyPosted();
        if (commitments.length != c.threshold || encryptedShares.length != c.trustees) revert LengthMismatch();
        for (uint256 j = 0; j < encryptedShares.length; ++j) {
            if (encryptedShares[j] >= BN254.N) revert InvalidScalar();
        }
        BN254.G1 memory c0 = commitments[0];
        if (c0.isInfinity()) revert InvalidProof(0);
        _checkSchnorr(_ceremonyDomain(ceremonyId, msg.sender), KIND_COEFF_POK, c0, pok);
        BN254.add(ephemeral, ephemeral); // reverts if the ephemeral key is not a curve point

        _dealt[ceremonyId][index] = true;
        _dealingHash[ceremonyId][index] = keccak256(abi.encode(encryptedShares));
        _ephemeral[ceremonyId][index] = ephemeral;
        BN254.G1[] storage mine = _dealerCommitments[ceremonyId][index];
        BN254.G1[] storage agg = _aggregate[ceremonyId];
        bool first = agg.length == 0;
        for (uint256 k = 0; k < commitments.length; ++k) {
            BN254.G1 memory ck = BN254.add(commitments[k], BN254.G1(0, 0)); // reverts on an invalid point
            mine.push(ck);
            if (first) agg.push(ck);
            else agg[k] = BN254.add(agg[k], ck);
        }
        c.dealings += 1;
        emit DealingPosted(ceremonyId, index, commitments, encryptedShares, ephemeral, pok);
    }

    /**
     * @notice Declare that this trustee opened and checked its share from every qualified dealer (step 3).
     * The ceremony completes, and its key becomes usable, when every trustee has confirmed.
     */
    function confirmShares(uint256 ceremonyId) external {
        uint256 index = _requireTrustee(ceremonyId);
        Ceremony storage c = _ceremonies[ceremonyId];
        if (c.dealings != c.trustees) revert DealingsIncomplete(ceremonyId);
        if (_confirmed[ceremonyId][index]) revert AlreadyPosted();
        _confirmed[ceremonyId][index] = true;
        c.confirmations += 1;
        emit SharesConfirmed(ceremonyId, index);
        if (c.confirmations == c.trustees) {
            c.complete = true;
            emit CeremonyCompleted(ceremonyId, _aggregate[ceremonyId][0]);
        }
    }

    /**
     * @notice Prove that `dealer` sent this trustee a bad share: reveal the Diffie–Hellman point
     * `dh = x_j * E_i` (transport secret times the dealer's ephemeral key) with a Chaum–Pedersen proof, and the
     * dealer's posted `encryptedShares`. The contract decrypts the share and checks it against the dealer's
     * commitments; if it does not match, the dealer is disqualified and its polynomial leaves the key.
     * Only before the ceremony completes (no election can use a key that may still change). Every earlier
     * confirmation is cleared: those trustees must open their (changed) share again and re-confirm.
     */
    function complain(
        uint256 ceremonyId,
        uint256 dealer,
        uint256[] calldata encryptedShares,
        BN254.G1 calldata dh,
        Proof calldata proof
    ) external {
        uint256 index = _requireTrustee(ceremonyId);
        Ceremony storage c = _ceremonies[ceremonyId];
        if (c.complete) revert CeremonyAlreadyComplete(ceremonyId);
        if (!_dealt[ceremonyId][dealer] || _disqualified[ceremonyId][dealer] || c.dealings - c.disqualified <= 1
            || keccak256(abi.encode(encryptedShares)) != _dealingHash[ceremonyId][dealer]) {
            revert NotDisqualifiable(dealer);
        }
        BN254.G1 memory k = dh;
        if (!_checkComplaintProof(ceremonyId, index, dealer, k, proof)) revert InvalidProof(0);
        uint256 pad = uint256(keccak256(abi.encode("co3chain.dkg.share", ceremonyId, dealer, index, k.x, k.y)))
            % BN254.N;
        uint256 share = addmod(encryptedShares[index - 1], BN254.N - pad, BN254.N);
        if (BN254.mul(BN254.generator(), share).eq(_commitmentAt(_dealerCommitments[ceremonyId][dealer], index))) {
            revert FalseComplaint(dealer);
        }
        _disqualified[ceremonyId][dealer] = true;
        c.disqualified += 1;
        BN254.G1[] storage agg = _aggregate[ceremonyId];
        BN254.G1[] storage theirs = _dealerCommitments[ceremonyId][dealer];
        for (uint256 j = 0; j < agg.length; ++j) {
            agg[j] = agg[j].sub(theirs[j]);
        }
        emit DealerDisqualified(ceremonyId, dealer, index);
        _resetConfirmations(ceremonyId, c);
    }

    /// @dev Shares confirmed before a disqualification include the removed polynomial: confirm again.
    function _resetConfirmations(uint256 ceremonyId, Ceremony storage c) private {
        if (c.confirmations == 0) return;
        for (uint256 j = 1; j <= c.trustees; ++j) {
            _confirmed[ceremonyId][j] = false;
        }
        c.confirmations = 0;
    }

    // ------------------------------------------------------------------ elections

    /**
     * @notice Create an election over completed ceremony `ceremonyId`, with `options` choices (2..16),
     * open on `[start, end)`, credentials from registrar key `registrarKeyId`; `proposalId` links a
     * governance proposal (0 for none).
     */
    function createElection(
        uint256 ceremonyId,
        uint256 registrarKeyId,
        uint256 proposalId,
        uint8 options,
        uint64 start,
        uint64 end
    ) external onlyRole(ELECTION_MANAGER_ROLE) returns (uint256 electionId) {
        if (!_ceremonies[ceremonyId].complete) revert CeremonyIncomplete(ceremonyId);
        if (!_registrarKeys[registrarKeyId].active) revert UnknownRegistrarKey(registrarKeyId);
        uint256 used = _registrarKeyElection[registrarKeyId];
        if (used != 0) revert RegistrarKeyInUse(registrarKeyId, used);
        if (options < 2 || options > MAX_OPTIONS || end <= start || end <= block.timestamp) revert InvalidElection();
        electionId = ++electionCount;
        _registrarKeyElection[registrarKeyId] = electionId;
        _elections[electionId] = Election(ceremonyId, registrarKeyId, proposalId, start, end, options, 0, 0, false);
        Cipher[] storage totals = _totals[electionId];
        for (uint256 i = 0; i < options; ++i) {
            totals.push();
        }
        emit ElectionCreated(electionId, ceremonyId, proposalId, registrarKeyId, options, start, end);
    }

    /**
     * @notice Cast or replace a ballot. Anyone (a relayer) may submit; the voter's fresh key authorizes it
     * with `voterSignature` (EIP-191 over {ballotDigest}). The first ballot of a voter carries its registrar
     * credential (a blind RSA signature over {credentialMessage}); its nullifier is then used. A re-vote has
     * `nonce` one above the last and passes the previous ballot's ciphertexts, which are subtracted.
     */
    function castBallot(
        uint256 electionId,
        Ballot calldata ballot,
        bytes calldata credential,
        Cipher[] calldata previous,
        bytes calldata voterSignature
    ) external {
        Election storage e = _requireElection(electionId);
        if (block.timestamp < e.start || block.timestamp >= e.end) revert VotingClosed(electionId);
        if (ballot.ciphertexts.length != e.options || ballot.bitProofs.length != e.options) revert LengthMismatch();
        bytes32 ctHash = _checkVoter(electionId, ballot, voterSignature);
        Voter storage v = _voters[electionId][ballot.voter];
        bool replaced = v.nonce != 0;
        if (!replaced) {
            _useCredential(electionId, e.registrarKeyId, ballot.voter, credential);
            e.voters += 1;
        } else if (previous.length != e.options || keccak256(abi.encode(previous)) != v.ballotHash) {
            revert PreviousBallotMismatch();
        }
        _verifyBallot(electionId, e.ceremonyId, ballot);
        v.nonce = ballot.nonce;
        v.ballotHash = ctHash;
        _accumulate(_totals[electionId], ballot.ciphertexts, previous, replaced);
        emit BallotCast(electionId, ballot.voter, replaced, ballot);
    }

    /**
     * @notice Post this trustee's partial decryption `D_k = s_i * A_k` of every option's accumulated
     * ciphertext, with Chaum–Pedersen proofs `log_G(Y_i) = log_{A_k}(D_k)`; only after the vote ended.
     */
    function postDecryption(uint256 electionId, BN254.G1[] calldata shares, Proof[] calldata proofs) external {
        Election storage e = _requireElection(electionId);
        if (block.timestamp < e.end) revert VotingNotEnded(electionId);
        uint256 index = _requireTrustee(e.ceremonyId);
        if (_partials[electionId][index].length != 0) revert AlreadyPosted();
        if (shares.length != e.options || proofs.length != e.options) revert LengthMismatch();
        _storePartials(electionId, e.ceremonyId, index, shares, proofs);
        e.decryptions += 1;
        emit DecryptionPosted(electionId, index, shares, proofs);
    }

    /**
     * @notice Record the result from exactly `threshold` posted partial decryptions (strictly ascending
     * trustee indices) and the claimed per-option counts; reverts unless every
     * `B_k - sum(lambda_i * D_ik) == counts[k] * G` and the counts add up to the number of voters.
     */
    function finalizeTally(uint256 electionId, uint256[] calldata trusteeIndices, uint256[] calldata counts)
        external
    {
        Election storage e = _requireElection(electionId);
        if (e.tallied) revert AlreadyTallied(electionId);
        if (block.timestamp < e.end) revert VotingNotEnded(electionId);
        uint256 options = e.options;
        Ceremony storage c = _ceremonies[e.ceremonyId];
        if (trusteeIndices.length != c.threshold) revert InvalidTrusteeIndices();
        if (counts.length != options) revert LengthMismatch();
        uint256[] memory lambdas = _lagrange(electionId, trusteeIndices, c.trustees);
        uint256 sum;
        for (uint256 k = 0; k < options; ++k) {
            if (counts[k] > e.voters || !_countMatches(electionId, k, trusteeIndices, lambdas, counts[k])) {
                revert WrongTally(k);
            }
            sum += counts[k];
        }
        if (sum != e.voters) revert WrongTally(options);
        e.tallied = true;
        _results[electionId] = counts;
        emit TallyFinalized(electionId, trusteeIndices, counts);
    }

    // ------------------------------------------------------------------ views

    /// @notice The digest a voter's fresh key signs (EIP-191 personal message of these 32 bytes).
    function ballotDigest(uint256 electionId, address voter, uint64 nonce, bytes32 ciphertextsHash)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(BALLOT_SIGNATURE_TAG, block.chainid, address(this), electionId, voter, nonce,
            ciphertextsHash));
    }

    /// @notice The message the registrar blind-signs: it binds the chain, contract, election and fresh key.
    function credentialMessage(uint256 electionId, address voter) public view returns (bytes memory) {
        return abi.encode(CREDENTIAL_TAG, block.chainid, address(this), electionId, voter);
    }

    /// @notice Public election key `Y` of a completed ceremony.
    function electionKey(uint256 ceremonyId) public view returns (BN254.G1 memory) {
        if (!_ceremonies[ceremonyId].complete) revert CeremonyIncomplete(ceremonyId);
        return _aggregate[ceremonyId][0];
    }

    /// @notice Verification key `Y_i = sum_k i^k C_k` of trustee `index` (1-based) in a completed ceremony.
    function verificationKey(uint256 ceremonyId, uint256 index) public view returns (BN254.G1 memory vk) {
        Ceremony storage c = _ceremonies[ceremonyId];
        if (!c.complete) revert CeremonyIncomplete(ceremonyId);
        vk = _commitmentAt(_aggregate[ceremonyId], index);
    }

    /// @notice Whether `dealer` was disqualified by a proven complaint.
    function isDisqualified(uint256 ceremonyId, uint256 dealer) external view returns (bool) {
        return _disqualified[ceremonyId][dealer];
    }

    function ceremony(uint256 ceremonyId)
        external
        view
        returns (Ceremony memory info, address[] memory trustees, BN254.G1[] memory aggregateCommitments)
    {
        return (_ceremonies[ceremonyId], _trustees[ceremonyId], _aggregate[ceremonyId]);
    }

    function transportKey(uint256 ceremonyId, uint256 index) external view returns (BN254.G1 memory) {
        return _transportKeys[ceremonyId][index];
    }

    function registrarKey(uint256 keyId) external view returns (RsaKey memory) {
        return _registrarKeys[keyId];
    }

    function election(uint256 electionId) external view returns (Election memory) {
        return _elections[electionId];
    }

    /// @notice The homomorphic sum of the current ballots, per option.
    function totals(uint256 electionId) external view returns (Cipher[] memory) {
        return _totals[electionId];
    }

    function voterState(uint256 electionId, address voter) external view returns (Voter memory) {
        return _voters[electionId][voter];
    }

    function nullifierUsed(uint256 electionId, bytes32 nullifier) external view returns (bool) {
        return _nullifierUsed[electionId][nullifier];
    }

    function partialDecryption(uint256 electionId, uint256 index) external view returns (BN254.G1[] memory) {
        return _partials[electionId][index];
    }

    function results(uint256 electionId) external view returns (uint256[] memory) {
        return _results[electionId];
    }

    // ------------------------------------------------------------------ internals

    /// @dev Nonce is the next one and the voter's fresh key signed these ciphertexts; returns their hash.
    function _checkVoter(uint256 electionId, Ballot calldata ballot, bytes calldata voterSignature)
        private
        view
        returns (bytes32 ctHash)
    {
        uint64 expected = _voters[electionId][ballot.voter].nonce + 1;
        if (ballot.nonce != expected) revert BadNonce(expected, ballot.nonce);
        ctHash = keccak256(abi.encode(ballot.ciphertexts));
        bytes32 digest = ballotDigest(electionId, ballot.voter, ballot.nonce, ctHash);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(MessageHashUtils.toEthSignedMessageHash(digest), voterSignature);
        if (err != ECDSA.RecoverError.NoError || signer != ballot.voter) revert InvalidVoterSignature();
    }

    /// @dev totals += ballot (- previous on a re-vote).
    function _accumulate(Cipher[] storage sums, Cipher[] calldata cts, Cipher[] calldata previous, bool replaced)
        private
    {
        for (uint256 i = 0; i < cts.length; ++i) {
            Cipher memory t = sums[i];
            t.a = t.a.add(cts[i].a);
            t.b = t.b.add(cts[i].b);
            if (replaced) {
                t.a = t.a.sub(previous[i].a);
                t.b = t.b.sub(previous[i].b);
            }
            sums[i] = t;
        }
    }

    /// @dev `sum_k index^k * commitments[k]`.
    function _commitmentAt(BN254.G1[] storage commitments, uint256 index) private view returns (BN254.G1 memory r) {
        uint256 power = 1;
        for (uint256 k = 0; k < commitments.length; ++k) {
            r = r.add(BN254.mul(commitments[k], power));
            power = mulmod(power, index, BN254.N);
        }
    }

    /// @dev Chaum–Pedersen: log_G(T_j) == log_{E_i}(dh), bound to the complainant's ceremony domain.
    function _checkComplaintProof(uint256 ceremonyId, uint256 index, uint256 dealer, BN254.G1 memory dh,
        Proof calldata p) private view returns (bool)
    {
        if (p.z >= BN254.N) return false;
        BN254.G1 memory tk = _transportKeys[ceremonyId][index];
        BN254.G1 memory e = _ephemeral[ceremonyId][dealer];
        BN254.G1 memory ra = BN254.zMinusC(BN254.generator(), p.z, tk, p.c);
        BN254.G1 memory rb = BN254.zMinusC(e, p.z, dh, p.c);
        bytes memory packed = abi.encodePacked(_ceremonyDomain(ceremonyId, msg.sender), KIND_COMPLAINT, e.x, e.y);
        packed = abi.encodePacked(packed, tk.x, tk.y, dh.x, dh.y, ra.x, ra.y, rb.x, rb.y);
        return uint256(keccak256(packed)) % BN254.N == p.c;
    }

    function _requireTrustee(uint256 ceremonyId) private view returns (uint256 index) {
        if (_ceremonies[ceremonyId].trustees == 0) revert UnknownCeremony(ceremonyId);
        index = _trusteeIndex[ceremonyId][msg.sender];
        if (index == 0) revert NotTrustee(ceremonyId, msg.sender);
    }

    function _requireElection(uint256 electionId) private view returns (Election storage e) {
        e = _elections[electionId];
        if (e.options == 0) revert UnknownElection(electionId);
    }

    function _domain(bytes32 tag, uint256 scopeId, address actor) private view returns (bytes32) {
        return keccak256(abi.encode(tag, block.chainid, address(this), scopeId, actor));
    }

    function _ceremonyDomain(uint256 ceremonyId, address trustee) private view returns (bytes32) {
        return _domain(CEREMONY_TAG, ceremonyId, trustee);
    }

    function _checkSchnorr(bytes32 dom, uint256 kind, BN254.G1 memory pub, Proof calldata pok) private view {
        BN254.G1 memory r = BN254.zMinusC(BN254.generator(), pok.z, pub, pok.c);
        uint256 ch = uint256(keccak256(abi.encodePacked(dom, kind, pub.x, pub.y, r.x, r.y))) % BN254.N;
        if (ch != pok.c || pok.z >= BN254.N) revert InvalidProof(0);
    }

    function _useCredential(uint256 electionId, uint256 keyId, address voter, bytes calldata credential) private {
        RsaKey storage key = _registrarKeys[keyId];
        if (!key.active) revert UnknownRegistrarKey(keyId);
        bytes memory message = credentialMessage(electionId, voter);
        if (!BlindRsa.verify(message, credential, key.exponent, key.modulus)) revert InvalidCredential();
        bytes32 nullifier = keccak256(message);
        if (_nullifierUsed[electionId][nullifier]) revert NullifierUsed(nullifier);
        _nullifierUsed[electionId][nullifier] = true;
    }

    function _verifyBallot(uint256 electionId, uint256 ceremonyId, Ballot calldata ballot) private view {
        bytes32 dom = _domain(BALLOT_TAG, electionId, ballot.voter);
        BN254.G1 memory key = _aggregate[ceremonyId][0];
        BN254.G1 memory sumA;
        BN254.G1 memory sumB;
        uint256 options = ballot.ciphertexts.length;
        for (uint256 i = 0; i < options; ++i) {
            Cipher memory ct = ballot.ciphertexts[i];
            if (ct.a.isInfinity() || !_verifyBit(dom, key, ct, ballot.bitProofs[i])) revert InvalidProof(i);
            sumA = sumA.add(ct.a);
            sumB = sumB.add(ct.b);
        }
        sumB = sumB.sub(BN254.generator());
        Proof calldata sp = ballot.sumProof;
        BN254.G1 memory ra = BN254.zMinusC(BN254.generator(), sp.z, sumA, sp.c);
        BN254.G1 memory rb = BN254.zMinusC(key, sp.z, sumB, sp.c);
        uint256 ch = uint256(keccak256(abi.encodePacked(
            dom, KIND_SUM, sumA.x, sumA.y, sumB.x, sumB.y, ra.x, ra.y, rb.x, rb.y
        ))) % BN254.N;
        if (ch != sp.c || sp.z >= BN254.N) revert InvalidProof(options);
    }

    function _storePartials(
        uint256 electionId,
        uint256 ceremonyId,
        uint256 index,
        BN254.G1[] calldata shares,
        Proof[] calldata proofs
    ) private {
        BN254.G1 memory vk = verificationKey(ceremonyId, index);
        bytes32 dom = _domain(DECRYPT_TAG, electionId, msg.sender);
        for (uint256 k = 0; k < shares.length; ++k) {
            if (!_checkDecryption(dom, vk, _totals[electionId][k].a, shares[k], proofs[k])) revert InvalidProof(k);
            _partials[electionId][index].push(shares[k]);
        }
    }

    function _checkDecryption(bytes32 dom, BN254.G1 memory vk, BN254.G1 memory a, BN254.G1 memory d,
        Proof calldata p) private view returns (bool)
    {
        if (p.z >= BN254.N) return false;
        BN254.G1 memory ra = BN254.zMinusC(BN254.generator(), p.z, vk, p.c);
        BN254.G1 memory rb = BN254.zMinusC(a, p.z, d, p.c);
        bytes memory packed = abi.encodePacked(dom, KIND_DECRYPT, a.x, a.y, vk.x, vk.y, d.x, d.y);
        return uint256(keccak256(abi.encodePacked(packed, ra.x, ra.y, rb.x, rb.y))) % BN254.N == p.c;
    }

    function _verifyBit(bytes32 dom, BN254.G1 memory key, Cipher memory ct, BitProof calldata p)
        private
        view
        returns (bool)
    {
        if (p.z0 >= BN254.N || p.z1 >= BN254.N || p.c0 >= BN254.N || p.c1 >= BN254.N) return false;
        BN254.G1 memory a0 = BN254.zMinusC(BN254.generator(), p.z0, ct.a, p.c0);
        BN254.G1 memory b0 = BN254.zMinusC(key, p.z0, ct.b, p.c0);
        BN254.G1 memory a1 = BN254.zMinusC(BN254.generator(), p.z1, ct.a, p.c1);
        BN254.G1 memory b1 = BN254.zMinusC(key, p.z1, ct.b.sub(BN254.generator()), p.c1);
        bytes memory packed = abi.encodePacked(dom, KIND_BIT, ct.a.x, ct.a.y, ct.b.x, ct.b.y);
        packed = abi.encodePacked(packed, a0.x, a0.y, b0.x, b0.y, a1.x, a1.y, b1.x, b1.y);
        return addmod(p.c0, p.c1, BN254.N) == uint256(keccak256(packed)) % BN254.N;
    }

    /// @dev `B_k - sum_j lambda_j D_{i_j,k} == count * G`.
    function _countMatches(
        uint256 electionId,
        uint256 k,
        uint256[] calldata idx,
        uint256[] memory lambdas,
        uint256 count
    ) private view returns (bool) {
        BN254.G1 memory acc;
        for (uint256 j = 0; j < lambdas.length; ++j) {
            acc = acc.add(BN254.mul(_partials[electionId][idx[j]][k], lambdas[j]));
        }
        return _totals[electionId][k].b.sub(acc).eq(BN254.mul(BN254.generator(), count));
    }

    /// @dev Lagrange coefficients at 0 for strictly ascending indices, each having posted its decryption.
    function _lagrange(uint256 electionId, uint256[] calldata idx, uint256 n)
        private
        view
        returns (uint256[] memory lambdas)
    {
        uint256 t = idx.length;
        lambdas = new uint256[](t);
        for (uint256 a = 0; a < t; ++a) {
            uint256 i = idx[a];
            if (i == 0 || i > n || (a > 0 && i <= idx[a - 1]) || _partials[electionId][i].length == 0) {
                revert InvalidTrusteeIndices();
            }
            uint256 num = 1;
            uint256 den = 1;
            for (uint256 b = 0; b < t; ++b) {
                if (b == a) continue;
                num = mulmod(num, idx[b], BN254.N);
                den = mulmod(den, addmod(idx[b], BN254.N - i, BN254.N), BN254.N);
            }
            lambdas[a] = mulmod(num, BN254.invN(den), BN254.N);
        }
    }
}
