// CoreDNS for the local cluster (scripts/k8s-local.sh), built as a library with only the plugins its Corefile
// uses; the health and ready plugins are left out because they would listen on :8080 and :8181.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
)

func init() {
	// The order in which plugins handle a query (CoreDNS's plugin.cfg order).
	dnsserver.Directives = []string{"bind", "errors", "log", "loadbalance", "cache", "kubernetes", "forward"}
}

func main() { coremain.Run() }
