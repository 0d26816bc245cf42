package gtstest

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/lifeboat-social/lifeboat/provision/fednet"
)

// FederationBrowser is what a browser needs to reach the federation's
// servers as other servers do, by name over HTTPS, without the machine's
// /etc/hosts or trust store: Chromium's --host-resolver-rules (each name
// to its loopback address) and --ignore-certificate-errors-spki-list
// (the hashes of the servers' own keys, so that only their certificates
// pass, not any). Call it after Federation.
func FederationBrowser() (hostRules, spkiList string, err error) {
	if fedNet == nil {
		panic("gtstest: FederationBrowser before Federation")
	}
	var rules, hashes []string
	for _, name := range []string{fednet.Room, fednet.Home} {
		rules = append(rules, "MAP "+name+" "+fedNet.Addr(name).String())
		chain, key, err := fedNet.Certificate(name)
		if err != nil {
			return "", "", err
		}
		pair, err := tls.LoadX509KeyPair(chain, key)
		if err != nil {
			return "", "", fmt.Errorf("read the certificate of %s: %w", name, err)
		}
		sum := sha256.Sum256(pair.Leaf.RawSubjectPublicKeyInfo)
		hashes = append(hashes, base64.StdEncoding.EncodeToString(sum[:]))
	}
	return strings.Join(rules, ", "), strings.Join(hashes, ","), nil
}
