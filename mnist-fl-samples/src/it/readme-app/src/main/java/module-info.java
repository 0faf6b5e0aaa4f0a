/** The README's examples, as a module of their own. */
module example.readme {
  requires io.mnistfl.tf;
  // The first example classifies a picture: decoding it needs the JDK's image module.
  requires java.desktop;

  exports example.readme;
}
