package follows

import "strings"

// Identities are the labels an export's owner goes by in edge lists: the
// label of Self and, for an X archive, also x:id:… (other people's X
// follow lists name accounts by id only). Empty when Self is unknown.
func (e *Export) Identities() []string {
	if e.Self == (Account{}) {
		return nil
	}
	out := []string{Label(e.Network, e.Self)}
	if e.Network == X && e.Self.Handle != "" && e.Self.ID != "" {
		out = append(out, Label(X, Account{ID: e.Self.ID}))
	}
	return out
}

// HandleLabels are the labels a handle as people write it may stand for,
// for matching the handles members gave (in the group file, on the join
// page) with the accounts in exports:
//
//	x:ada, bsky:did:plc:…, fedi:@…, ig:ada   that label, as written
//	did:plc:…                                 bsky:did:plc:…
//	@ada@social.example, ada@social.example   fedi:@ada@social.example
//	@ada, ada                                 x:ada and ig:ada (X and
//	                                          Instagram share this form)
//
// A Bluesky handle (ada.bsky.social) names no label: repositories hold
// DIDs. Such a member is matched through their own export.
func HandleLabels(h string) []string {
	h = strings.TrimSpace(h)
	for _, n := range []Network{X, Bluesky, Meta} {
		if rest, ok := strings.CutPrefix(h, string(n)+":"); ok && plainName(rest) {
			if n != Bluesky {
				rest = lower(rest)
			}
			return []string{string(n) + ":" + rest}
		}
	}
	if rest, ok := strings.CutPrefix(h, string(Fedi)+":"); ok {
		h = rest
	}
	if did.MatchString(h) {
		return []string{Label(Bluesky, Account{ID: h})}
	}
	if a, err := fediAddress(h); err == nil {
		return []string{Label(Fedi, Account{Handle: a})}
	}
	name := lower(trimAt(h))
	var out []string
	if xUsername(name) {
		out = append(out, Label(X, Account{Handle: name}))
	}
	if metaUsername(name) && !strings.Contains(name, ".bsky.") {
		out = append(out, Label(Meta, Account{Handle: name}))
	}
	return out
}
