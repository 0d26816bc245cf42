package admission

import "testing"

// The parsers of what arrives from outside (requests, amendments,
// answers, proofs in sign-up reasons) never panic, and what they accept
// is what the signing side makes.

func FuzzDecode(f *testing.F) {
	key := newKey(f)
	r, err := New(draft("https://s.example", "ada@example.org"), key, t0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(r.Encode())
	f.Add([]byte(r.Token()))
	f.Add([]byte(`{"lifeboat_admission":1,"id":"0011223344556677","email_salt":"AAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte("lifeboat-admission:!!"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Decode(got.Encode())
		if err != nil || again.ID() != got.ID() {
			t.Fatalf("a decoded request does not decode again to itself: %v", err)
		}
	})
}

func FuzzParseProof(f *testing.F) {
	key := newKey(f)
	r, _ := New(draft("https://s.example", "ada@example.org"), key, t0)
	p, _ := IssueProof(r, key, "ada@example.org", Window{})
	f.Add(Reason("UK", p))
	f.Add(ProofPrefix + "AAAA")
	f.Add("no proof here")
	f.Fuzz(func(t *testing.T, reason string) {
		pr, err := ParseProof(reason)
		if err != nil {
			return
		}
		// Judging a parsed proof never panics; only the group's own
		// proof for ada passes.
		if pr.Check(r, "ada@example.org", t0) == nil && !r.Roster()[pr.Member] {
			t.Fatal("a proof passed for an entry that is not on the roster")
		}
	})
}

func FuzzDecodeAmendmentAnswer(f *testing.F) {
	key := newKey(f)
	a := NewAnswer(key, "00112233445566778899aabbccddeeff", "https://s.example", "g", true, "hi", t0)
	f.Add(a.Encode())
	f.Add([]byte(`{"lifeboat_admission_amendment":1,"request":"x","add":["AAAAAAAAAAAAAAAAAAAAAA"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if am, err := DecodeAmendment(data); err == nil {
			_ = am.ID()
		}
		if ans, err := DecodeAnswer(data); err == nil && ans.AdminFingerprint() == "invalid" {
			t.Fatal("an answer verified with an invalid key")
		}
		_ = IsAmendment(data)
	})
}
