package gtstest

// Password returns the password Account made for username on f, for a
// test in which the member types it (GoToSocial confirms a move of the
// account with it). Empty for a username Account has not made.
func (f *Fed) Password(username string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.passwords[username]
}
