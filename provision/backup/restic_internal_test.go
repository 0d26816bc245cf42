package backup

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestResticSecretsStayOutOfArgv: the bucket's secret and the password
// reach restic in its environment and a file only, and a RESTIC_PASSWORD
// or AWS key of the lead's own environment cannot take their place.
func TestResticSecretsStayOutOfArgv(t *testing.T) {
	t.Setenv("RESTIC_PASSWORD", "from-the-environment")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "someone-elses-secret")
	r := &Restic{Bin: "/bin/true", Repo: Repo{Location: "s3:https://fsn1.your-objectstorage.com/b/p", PasswordFile: "/state/backup/password",
		S3: S3Keys{KeyID: "KEYID", Secret: "the-bucket-secret"}}}
	for _, start := range []func() (*running, error){
		func() (*running, error) {
			return r.startBackup(context.Background(), []string{"lifeboat"}, "lifeboat-x")
		},
		func() (*running, error) { return r.startDump(context.Background(), "0123abcd") },
	} {
		p, err := start()
		if err != nil {
			t.Fatal(err)
		}
		p.kill()
		args := strings.Join(p.cmd.Args, " ")
		if strings.Contains(args, "the-bucket-secret") || strings.Contains(args, "password") || strings.Contains(args, "KEYID") {
			t.Fatalf("restic's command line holds a secret: %s", args)
		}
		env := p.cmd.Env
		for _, want := range []string{"AWS_SECRET_ACCESS_KEY=the-bucket-secret", "AWS_ACCESS_KEY_ID=KEYID", "RESTIC_PASSWORD_FILE=/state/backup/password"} {
			if !slices.Contains(env, want) {
				t.Errorf("restic's environment lacks %s", want)
			}
		}
		for _, kv := range env {
			if strings.Contains(kv, "from-the-environment") || strings.Contains(kv, "someone-elses-secret") {
				t.Errorf("restic inherits %s", kv)
			}
		}
	}
}
