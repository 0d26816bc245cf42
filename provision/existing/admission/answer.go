package admission

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// AnswerVersion is the answer document's format version.
const AnswerVersion = 1

// Answer is the admin's decision on a request or an amendment, signed
// with the admin's own key, for the lead: the lead imports it
// (ImportAnswer) and the group's launch waits until the answer to its
// request is yes (AcceptedFor).
type Answer struct {
	Format    int       `json:"lifeboat_admission_answer"` // AnswerVersion
	Document  string    `json:"document"`                  // the ID of the request or amendment answered
	Server    string    `json:"server"`
	Group     string    `json:"group"`
	Accepted  bool      `json:"accepted"`
	Message   string    `json:"message,omitempty"`
	At        time.Time `json:"at"`
	AdminKey  string    `json:"admin_key"` // base64url Ed25519 public key
	Signature string    `json:"signature,omitempty"`
}

// Errors of answers.
var (
	ErrNotOurs         = errors.New("the answer is for a document this group did not make")
	ErrAdminKeyChanged = errors.New("the answer is signed by another admin key than this server's earlier answers")
)

func (a *Answer) signed() []byte {
	c := *a
	c.Signature = ""
	b, _ := json.Marshal(c)
	return append([]byte("lifeboat-admission-answer\x00"), b...)
}

// NewAnswer signs the admin's decision on the document with identity id.
func NewAnswer(key ed25519.PrivateKey, id, server, group string, accepted bool, message string, at time.Time) *Answer {
	a := &Answer{Format: AnswerVersion, Document: id, Server: strings.TrimRight(server, "/"), Group: group,
		Accepted: accepted, Message: message, At: at.UTC().Truncate(time.Second),
		AdminKey: b64.EncodeToString(key.Public().(ed25519.PublicKey))}
	a.Signature = b64.EncodeToString(ed25519.Sign(key, a.signed()))
	return a
}

// Encode is the document as indented JSON, for a file.
func (a *Answer) Encode() []byte { return encode(a) }

// AdminFingerprint is the digest of the admin's key, for the lead to
// compare with what the admin says over another channel.
func (a *Answer) AdminFingerprint() string {
	k, err := b64.DecodeString(a.AdminKey)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return "invalid"
	}
	return Fingerprint(k)
}

// DecodeAnswer reads an answer and checks its signature by the key it
// names; whether that key is the server admin's is ImportAnswer's to
// judge.
func DecodeAnswer(data []byte) (*Answer, error) {
	raw, err := unwrap(data, "lifeboat-answer:")
	if err != nil {
		return nil, err
	}
	var a Answer
	if err := strict(raw, &a); err != nil {
		return nil, err
	}
	if a.Format != AnswerVersion {
		return nil, fmt.Errorf("%w: answer format %d, this Lifeboat reads %d", ErrMalformed, a.Format, AnswerVersion)
	}
	k, err := b64.DecodeString(a.AdminKey)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: bad admin key", ErrMalformed)
	}
	sig, err := b64.DecodeString(a.Signature)
	if err != nil || !ed25519.Verify(k, a.signed(), sig) {
		return nil, ErrBadSignature
	}
	return &a, nil
}

// AdminKeyFile is the admin's signing key in the admin's state
// directory, mode 0600, sealed with the key ring like the other secrets
// beside the store: a copy of the state directory cannot sign answers.
const AdminKeyFile = "admin-signing.key"

// AdminKey returns the admin's signing key from dir, made on first use.
// A key file that others can read is refused, not used; one written in
// clear by an earlier Lifeboat is sealed on this read.
func AdminKey(dir string) (ed25519.PrivateKey, error) {
	keys, err := store.LoadKeys(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, AdminKeyFile)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := store.WriteSealedFile(keys, path, []byte(b64.EncodeToString(k.Seed()))); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("admin key %s is readable by others (mode %#o): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := store.ReadSealedFile(keys, path)
	if err != nil {
		return nil, err
	}
	seed, err := b64.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("admin key %s is damaged", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// WriteAnswer signs the admin's decision on the document with identity
// id with the admin's key (from stateDir) and writes it to file, by
// default answers/answer-<id>.json in stateDir, for the admin to send to
// the lead. The file is named by the identity alone: a group's name
// comes from its request and is no file name to trust.
func WriteAnswer(stateDir, file, id, server, group string, accepted bool, message string, at time.Time) (*Answer, string, error) {
	key, err := AdminKey(stateDir)
	if err != nil {
		return nil, "", err
	}
	a := NewAnswer(key, id, server, group, accepted, message, at)
	if file == "" {
		dir := filepath.Join(stateDir, "answers")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", err
		}
		file = filepath.Join(dir, "answer-"+id[:16]+".json")
	}
	if err := atomicfile.Write(file, a.Encode(), 0o644); err != nil {
		return nil, "", err
	}
	return a, file, nil
}

// The lead's side.

// ImportAnswer keeps the admin's answer to one of the group's requests
// or amendments. The first answer from a server pins that admin's key:
// a later answer signed by another key is refused, so whoever can send
// the lead a file cannot overturn the admin's word. It returns what the
// answer is about, for telling the lead.
func ImportAnswer(ctx context.Context, st store.Store, group string, a *Answer) (string, error) {
	j := st.Journal()
	server, about := "", ""
	if req, err := requestByID(ctx, j, group, a.Document); err == nil {
		server, about = req.Server, "request "+req.ID()
	} else if am, req, err := amendmentByID(ctx, j, group, a.Document); err == nil {
		server, about = req.Server, fmt.Sprintf("amendment %s (+%d −%d members)", am.ID(), len(am.Add), len(am.Remove))
	} else {
		return "", fmt.Errorf("%w: %s is none of group %s's requests or amendments", ErrNotOurs, a.Document, group)
	}
	if a.Group != group || !SameServer(a.Server, server) {
		return "", fmt.Errorf("%w: it answers for group %s on %s", ErrNotOurs, a.Group, a.Server)
	}
	pin := adminKeyKey + serverHost(server)
	if prev, err := j.Get(ctx, leadRun+group, pin); err == nil && prev.Status == store.StepDone {
		if string(prev.Result) != a.AdminKey {
			return "", fmt.Errorf("%w (%s)", ErrAdminKeyChanged, serverHost(server))
		}
	} else if err := put(ctx, j, leadRun+group, pin, []byte(a.AdminKey)); err != nil {
		return "", err
	}
	if err := put(ctx, j, leadRun+group, answerKey+a.Document, a.Encode()); err != nil {
		return "", fmt.Errorf("keep the answer: %w", err)
	}
	return about, nil
}

func requestByID(ctx context.Context, j store.Journal, group, id string) (*Request, error) {
	st, err := j.Get(ctx, leadRun+group, requestKey+id)
	if err != nil {
		return nil, err
	}
	r, err := Decode(st.Result)
	if err != nil {
		return nil, err
	}
	if r.ID() != id {
		return nil, store.ErrNotFound
	}
	return r, nil
}

func amendmentByID(ctx context.Context, j store.Journal, group, id string) (*Amendment, *Request, error) {
	steps, err := done(ctx, j, leadRun+group, amendmentKey)
	if err != nil {
		return nil, nil, err
	}
	for _, st := range steps {
		if !strings.HasSuffix(st.Key, "/"+id) {
			continue
		}
		a, err := DecodeAmendment(st.Result)
		if err != nil {
			return nil, nil, err
		}
		req, err := requestByID(ctx, j, group, a.Request)
		if err != nil {
			return nil, nil, err
		}
		if err := a.Verify(req); err != nil || a.ID() != id {
			return nil, nil, store.ErrNotFound
		}
		return a, req, nil
	}
	return nil, nil, store.ErrNotFound
}

// answerFor is the imported answer to the document id, or
// store.ErrNotFound. Answers were verified and pinned on import.
func answerFor(ctx context.Context, j store.Journal, group, id string) (*Answer, error) {
	st, err := j.Get(ctx, leadRun+group, answerKey+id)
	if err != nil {
		return nil, err
	}
	if st.Status != store.StepDone {
		return nil, store.ErrNotFound
	}
	a, err := DecodeAnswer(st.Result)
	if err != nil {
		return nil, fmt.Errorf("read answer %s: %w", st.Key, err)
	}
	return a, nil
}

// AcceptedFor reports whether the admin's acceptance of the group's
// latest admission request has reached the lead (ImportAnswer): the
// group's existing destination is ready for its members. It is false
// while no request exists, before any answer, after a rejection, and
// for a request superseded by a newer one. It lists the group's
// requests and reads one answer: cheap enough to ask at every tick.
func AcceptedFor(ctx context.Context, st store.Store, group string) (bool, error) {
	req, err := LatestRequest(ctx, st.Journal(), group, "")
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	a, err := answerFor(ctx, st.Journal(), group, req.ID())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return a.Accepted, nil
}
