package io.mnistfl.fl.secagg;

import io.mnistfl.fl.wire.MessageFormatException;

/**
 * A site's signed key advertisement: its two X25519 public keys (for shares and for masks),
 * commitments to its self-mask seed and to its mask key, and the credential its signature is
 * checked against.
 */
record Advertisement(String siteId, byte[] sharingKey, byte[] maskingKey, byte[] seedCommitment,
    byte[] keyCommitment, byte[] credential, byte[] signature) {

  static final String KIND = "MFA1";

  /** The bytes the signature covers. */
  static byte[] signed(byte[] session, int round, String siteId, byte[] sharingKey,
      byte[] maskingKey, byte[] seedCommitment, byte[] keyCommitment) {
    return Body.signed("mnistfl-secagg-v1/advertisement", session, round, siteId, sharingKey,
        maskingKey, seedCommitment, keyCommitment);
  }

  byte[] signed(byte[] session, int round) {
    return signed(session, round, siteId, sharingKey, maskingKey, seedCommitment, keyCommitment);
  }

  void write(Body.Writer w) {
    w.string(siteId).bytes(sharingKey).bytes(maskingKey).fixed(seedCommitment)
        .fixed(keyCommitment).bytes(credential).bytes(signature);
  }

  static Advertisement read(Body.Reader r) throws MessageFormatException {
    return new Advertisement(r.string(), r.bytes(64), r.bytes(64), r.fixed(32), r.fixed(32),
        r.bytes(16 << 10), r.bytes(512));
  }
}
