/** The README's examples, as a module of their own. */
module example.readme {
  requires io.mnistfl.tf;

  exports example.readme;
}
