package hcloudfake

import (
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
	"golang.org/x/crypto/ssh"
)

func (f *Fake) createSSHKey(decode decoder) (int, any, *apiError) {
	var req schema.SSHKeyCreateRequest
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Name == "" {
		return 0, nil, errInvalid("name", "is required")
	}
	pub, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if perr != nil {
		return 0, nil, errInvalid("public_key", "is not a valid public key")
	}
	labels := labelsOf(req.Labels)
	if err := validLabels(labels); err != nil {
		return 0, nil, err
	}
	fp := ssh.FingerprintLegacyMD5(pub)
	for _, k := range f.sshKeys {
		if k.Name == req.Name {
			return 0, nil, errUnique("name")
		}
		if k.Fingerprint == fp {
			return 0, nil, &apiError{status: http.StatusConflict, code: "uniqueness_error", message: "SSH key with the same fingerprint already exists", fields: map[string]string{"public_key": "is already used"}}
		}
	}
	k := &schema.SSHKey{ID: f.id(), Name: req.Name, Fingerprint: fp, PublicKey: req.PublicKey, Labels: labels, Created: f.now()}
	f.sshKeys[k.ID] = k
	return http.StatusCreated, schema.SSHKeyCreateResponse{SSHKey: *k}, nil
}

func (f *Fake) updateSSHKey(id int64, req updateReq) (int, any, *apiError) {
	k := f.sshKeys[id]
	if k == nil {
		return 0, nil, errNotFound("ssh_key", id)
	}
	if err := req.rename(&k.Name, nameTaken(f.sshKeys, func(o *schema.SSHKey) string { return o.Name })); err != nil {
		return 0, nil, err
	}
	if req.Labels != nil {
		k.Labels = labelsOf(req.Labels)
	}
	return http.StatusOK, schema.SSHKeyUpdateResponse{SSHKey: *k}, nil
}

func (f *Fake) deleteSSHKey(id int64) (int, any, *apiError) {
	if f.sshKeys[id] == nil {
		return 0, nil, errNotFound("ssh_key", id)
	}
	delete(f.sshKeys, id)
	return http.StatusNoContent, nil, nil
}
