J=mnist-fl-samples/target/mnist-fl.jar
java -jar $J certs --out tls --sites site-a,site-b
# terminal 1: the server listens on one port and waits for two sites
java -jar $J federate --model baseline --listen localhost:8470 --pki tls --min-sites 2 --rounds 3
# terminals 2 and 3: each site dials out with its own certificate and trains on its own part
java -jar $J client --server localhost:8470 --pki tls --id site-a --clients 20 --index 0
java -jar $J client --server localhost:8470 --pki tls --id site-b --clients 20 --index 1
