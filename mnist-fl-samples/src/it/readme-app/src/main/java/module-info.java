/** The README's examples, as a module of their own: an application's module-info. */
module example.readme {
  requires io.mnistfl.tf; // the model, and through it the API
  requires io.mnistfl.grpc; // the network transport, with its gRPC and PKI libraries
  requires java.desktop; // only to read pictures (DigitImages, ImageFolder)

  exports example.readme;
}
