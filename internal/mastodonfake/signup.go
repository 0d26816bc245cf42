package mastodonfake

import (
	"fmt"
	"net/http"
	"net/smtp"
	"strings"
)

// maxReason is InviteRequest's limit on the sign-up reason.
const maxReason = 420

// signUpErrors are a sign-up's validation errors beyond the account's
// own: the agreement and the reason.
func (s *Server) signUpErrors(agreement bool, reason string) map[string][]detail {
	errs := map[string][]detail{}
	if !agreement {
		errs["agreement"] = []detail{{"ERR_ACCEPTED", "must be accepted"}}
	}
	if s.cfg.Mode == Approved && s.cfg.ReasonRequired && strings.TrimSpace(reason) == "" {
		errs["reason"] = []detail{{"ERR_BLANK", "can't be blank"}}
	}
	if len([]rune(reason)) > maxReason {
		errs["reason"] = []detail{{"ERR_TOO_LONG", fmt.Sprintf("is too long (maximum is %d characters)", maxReason)}}
	}
	return errs
}

// register makes an account from a sign-up (API or page) and mails the
// confirmation link. Registrations must be open.
func (s *Server) register(username, email, password, reason, locale string, agreement bool) (*account, map[string][]detail) {
	errs := s.signUpErrors(agreement, reason)
	if len(errs) > 0 {
		// Mastodon reports every field at once: add the account's.
		_, more := s.dryRun(username, email, password)
		for k, v := range more {
			errs[k] = v
		}
		return nil, errs
	}
	a, errs := s.newAccount(username, email, password, locale)
	if len(errs) > 0 {
		return nil, errs
	}
	a.approved = s.cfg.Mode == Open
	if s.cfg.Mode == Approved {
		a.reason = reason
	}
	s.stats.SignUps++
	s.mailConfirmation(a)
	return a, nil
}

// dryRun validates an account without keeping it.
func (s *Server) dryRun(username, email, password string) (*account, map[string][]detail) {
	a, errs := s.newAccount(username, email, password, "en")
	if a != nil {
		delete(s.accounts, a.id)
		s.seq--
	}
	return nil, errs
}

// mailConfirmation sends Devise's confirmation instructions. A failed
// send leaves the account unconfirmed, as Sidekiq's retries would until
// they give up.
func (s *Server) mailConfirmation(a *account) {
	tok := secret()[:20]
	s.confirm[tok] = a.id
	if s.cfg.SMTPAddr == "" {
		return
	}
	link := s.URL + "/auth/confirmation?confirmation_token=" + tok
	from := "notifications@" + strings.Split(s.cfg.Domain, ":")[0]
	msg := "From: Mastodon <" + from + ">\r\nTo: " + a.email + "\r\nSubject: Mastodon: Confirmation instructions for " + s.cfg.Domain +
		"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nWelcome, @" + a.username + "!\r\n\r\nYou just created an account on " + s.cfg.Domain +
		".\r\n\r\nTo confirm your e-mail address, open this link:\r\n\r\n" + link + "\r\n\r\nIf this wasn't you, please ignore this e-mail.\r\n"
	if smtp.SendMail(s.cfg.SMTPAddr, nil, from, []string{a.email}, []byte(msg)) == nil {
		s.stats.ConfirmMails++
	}
}

// apiSignUp is POST /api/v1/accounts: an app token only; on success the
// new user's token (unusable until the email is confirmed and, in
// approval mode, the account approved).
func (s *Server) apiSignUp(c *call) {
	if c.tok.accountID != "" {
		apiError(c.w, http.StatusForbidden, "This method requires an app token")
		return
	}
	if s.cfg.Mode == None {
		apiError(c.w, http.StatusForbidden, "This action is not allowed")
		return
	}
	p := c.p
	locale := p.Get("locale")
	a, errs := s.register(p.Get("username"), p.Get("email"), p.Get("password"), p.Get("reason"), locale,
		p.Get("agreement") == "true" || p.Get("agreement") == "1")
	if len(errs) == 0 && locale == "" {
		errs = map[string][]detail{"locale": {{"ERR_BLANK", "can't be blank"}}}
		delete(s.accounts, a.id)
	}
	if len(errs) > 0 {
		fields := make([]string, 0, len(errs))
		for f, ds := range errs {
			fields = append(fields, f+" "+ds[0].Description)
		}
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"error": "Validation failed: " + strings.Join(fields, ", "), "details": errs})
		return
	}
	s.issue(c.w, c.tok.app, a.id, c.tok.app.scopes)
}

// signUpPage is GET /auth/sign_up: the server's rules first (Mastodon
// 4.3 and later), then, once accepted, the form.
func (s *Server) signUpPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.session(w, r)
	if s.cfg.Mode == None {
		page(w, http.StatusForbidden, "Sign-ups are closed", "<p>This server is not accepting new sign-ups.</p>")
		return
	}
	if se.accept == "" || r.URL.Query().Get("accept") != se.accept {
		se.accept = secret()[:16]
		var b strings.Builder
		b.WriteString(`<p>Some ground rules.</p><ol class="rules-list">`)
		for _, t := range s.cfg.Rules {
			b.WriteString("<li>" + htmlEscape(t) + "</li>")
		}
		b.WriteString(`</ol><a class="button" id="accept" href="/auth/sign_up?accept=` + se.accept + `">Accept</a>`)
		page(w, http.StatusOK, "Some ground rules.", b.String())
		return
	}
	s.signUpForm(w, http.StatusOK, se, nil, r.URL.Query())
}

func (s *Server) signUpForm(w http.ResponseWriter, status int, se *session, errs map[string][]detail, v map[string][]string) {
	get := func(k string) string {
		if x := v[k]; len(x) > 0 {
			return x[0]
		}
		return ""
	}
	var b strings.Builder
	for f, ds := range errs {
		b.WriteString(`<p class="error" role="alert">` + htmlEscape(f+" "+ds[0].Description) + `</p>`)
	}
	b.WriteString(`<form method="post" action="/auth" id="registration">` + hidden("authenticity_token", se.csrf) + hidden("accept", se.accept) +
		`<label>Username <input name="user[account_attributes][username]" value="` + htmlEscape(get("user[account_attributes][username]")) + `"></label>` +
		`<label>E-mail address <input type="email" name="user[email]" value="` + htmlEscape(get("user[email]")) + `"></label>` +
		`<label>Password <input type="password" name="user[password]"></label>` +
		`<label>Confirm password <input type="password" name="user[password_confirmation]"></label>` +
		`<div class="honeypot"><input name="user[website]" tabindex="-1"><input name="user[confirm_password]" tabindex="-1"></div>`)
	if s.cfg.Mode == Approved {
		b.WriteString(`<label>Why do you want to join? <textarea name="user[invite_request_attributes][text]" maxlength="420">` +
			htmlEscape(get("user[invite_request_attributes][text]")) + `</textarea></label>`)
	}
	b.WriteString(`<label><input type="checkbox" name="user[agreement]" value="1"> I agree to the server rules and terms of service.</label>` +
		`<button type="submit" id="sign-up">Sign up</button></form>`)
	page(w, status, "Let's get you set up on "+s.cfg.Domain, b.String())
}

// signUpPost is POST /auth (Devise registrations#create).
func (s *Server) signUpPost(w http.ResponseWriter, r *http.Request, se *session) {
	if se.accept == "" || r.PostFormValue("accept") != se.accept {
		// the rules were not accepted on this browser
		http.Redirect(w, r, "/auth/sign_up", http.StatusFound)
		return
	}
	if s.cfg.Mode == None {
		page(w, http.StatusForbidden, "Sign-ups are closed", "")
		return
	}
	f := r.PostForm
	if f.Get("user[website]") != "" || f.Get("user[confirm_password]") != "" {
		// the honeypot: a bot filled in the hidden fields
		page(w, http.StatusForbidden, "Sign-up refused", "")
		return
	}
	errs := map[string][]detail{}
	if f.Get("user[password]") != f.Get("user[password_confirmation]") {
		errs["password_confirmation"] = []detail{{"ERR_INVALID", "doesn't match Password"}}
	} else {
		_, errs = s.register(f.Get("user[account_attributes][username]"), f.Get("user[email]"), f.Get("user[password]"),
			f.Get("user[invite_request_attributes][text]"), "en", f.Get("user[agreement]") == "1")
	}
	if len(errs) > 0 {
		s.signUpForm(w, http.StatusUnprocessableEntity, se, errs, f)
		return
	}
	http.Redirect(w, r, "/auth/setup", http.StatusFound)
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	page(w, http.StatusOK, "Check your inbox", "<p>We sent you a link to confirm your e-mail address. Click it to continue.</p>")
}

// confirmEmail is GET /auth/confirmation (the link in the mail).
func (s *Server) confirmEmail(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := r.URL.Query().Get("confirmation_token")
	a := s.accounts[s.confirm[tok]]
	if a == nil {
		page(w, http.StatusUnprocessableEntity, "Resend confirmation instructions", "<p>Confirmation token is invalid</p>")
		return
	}
	delete(s.confirm, tok)
	a.confirmedAt = s.now()
	msg := `<p id="confirmed">Your email address has been successfully confirmed.</p>`
	if !a.approved {
		msg += `<p id="pending">Your application is pending review by our staff. You will receive an e-mail once it is approved.</p>`
	}
	page(w, http.StatusOK, "Account confirmed", msg)
}
