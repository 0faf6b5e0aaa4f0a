package io.mnistfl.fl.secagg;

/** The two secrets a site deals shares of: its self-mask seed and its mask key. */
enum Secret {
  /** The seed of the self mask; rebuilt for sites that sent their masked input. */
  SEED("seed"),
  /** The mask key's private scalar; rebuilt for sites that dropped after sharing. */
  MASK_KEY("mask key");

  private final String label;

  Secret(String label) {
    this.label = label;
  }

  @Override
  public String toString() {
    return label;
  }

  /** The commitment to this secret's value. */
  byte[] commit(byte[] secret) {
    return Crypto.sha256(Body.signed("mnistfl-secagg-v1/commit", label), secret);
  }

  /** The commitment to the share {@code owner} deals {@code holder} at {@code x}. */
  byte[] commitShare(String owner, String holder, int x, byte[] salt, byte[] share) {
    return Crypto.sha256(
        Body.signed("mnistfl-secagg-v1/share", label, owner, holder, x, salt, share));
  }
}
