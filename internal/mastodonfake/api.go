package mastodonfake

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// params reads a request's parameters as Rails does: the query, a form
// body, or a JSON body (arrays as name[]).
func params(r *http.Request) url.Values {
	v := url.Values{}
	for k, vs := range r.URL.Query() {
		v[k] = vs
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if json.Unmarshal(b, &m) == nil {
			for k, x := range m {
				switch x := x.(type) {
				case []any:
					for _, e := range x {
						v.Add(k+"[]", toString(e))
					}
				default:
					v.Set(k, toString(x))
				}
			}
		}
	default:
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		if r.ParseForm() == nil {
			for k, vs := range r.PostForm {
				v[k] = vs
			}
		}
	}
	return v
}

func toString(x any) string {
	switch x := x.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// arrayParam reads an array parameter sent as name[] or name.
func arrayParam(v url.Values, name string) []string {
	if xs := v[name+"[]"]; len(xs) > 0 {
		return xs
	}
	return v[name]
}

// hasScope reports whether granted covers need: "read" covers
// "read:accounts", "follow" covers read/write of follows, blocks and
// mutes (Mastodon's legacy scope), "admin:read" covers
// "admin:read:accounts".
func hasScope(granted []string, need string) bool {
	for _, g := range granted {
		if g == need || strings.HasPrefix(need, g+":") {
			return true
		}
		if g == "follow" && slices.Contains([]string{"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}, need) {
			return true
		}
	}
	return false
}

func (s *Server) bearer(r *http.Request) *token {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	return s.tokens[strings.TrimSpace(v)]
}

// call is one API request, past authentication and the throttles.
type call struct {
	w   http.ResponseWriter
	r   *http.Request
	tok *token
	me  *account // the token's user, when the endpoint needs one
	p   url.Values
}

// api wraps an API handler: the throttles, then the token and its scope
// (need "" for public endpoints), then — user endpoints — the user's
// state, with Mastodon's answers (Api::BaseController#require_user!).
func (s *Server) api(need string, user bool, fn func(c *call)) http.HandlerFunc {
	return s.apiFor(need, user, true, fn)
}

// apiOpen is api for an endpoint Mastodon serves to anyone even in
// limited federation mode (POST /api/v1/apps).
func (s *Server) apiOpen(fn func(c *call)) http.HandlerFunc { return s.apiFor("", false, false, fn) }

// apiFor is api; limited says whether limited federation mode closes the
// endpoint to requests without a user (Api::BaseController's
// require_authenticated_user!, if disallow_unauthenticated_api_access?).
func (s *Server) apiFor(need string, user, limited bool, fn func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Date", s.now().Format(http.TimeFormat))
		tok := s.bearer(r)
		if r.Header.Get("Authorization") != "" && tok == nil {
			apiError(w, http.StatusUnauthorized, "The access token is invalid")
			return
		}
		if !s.throttle(w, r, tok) {
			return
		}
		if limited && s.cfg.LimitedFederation && (tok == nil || tok.accountID == "") {
			apiError(w, http.StatusUnauthorized, "This method requires an authenticated user")
			return
		}
		c := &call{w: w, r: r, tok: tok, p: params(r)}
		if need != "" {
			if tok == nil {
				apiError(w, http.StatusUnauthorized, "The access token is invalid")
				return
			}
			if !hasScope(tok.scopes, need) {
				apiError(w, http.StatusForbidden, "This action is outside the authorized scopes")
				return
			}
		}
		if user {
			if tok == nil || tok.accountID == "" {
				apiError(w, http.StatusUnprocessableEntity, "This method requires an authenticated user")
				return
			}
			me := s.accounts[tok.accountID]
			switch {
			case me == nil:
				apiError(w, http.StatusUnauthorized, "The access token is invalid")
				return
			case !me.confirmed():
				apiError(w, http.StatusForbidden, "Your login is missing a confirmed e-mail address")
				return
			case !me.approved:
				apiError(w, http.StatusForbidden, "Your login is currently pending approval")
				return
			case me.movedTo != nil: // User#functional? is false once moved
				apiError(w, http.StatusForbidden, "Your login is currently disabled")
				return
			}
			c.me = me
		}
		fn(c)
	}
}

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/v2/instance", s.api("", false, s.instance))
	m.HandleFunc("GET /api/v1/instance/rules", s.api("", false, func(c *call) { writeJSON(c.w, 200, s.rules()) }))
	m.HandleFunc("GET /api/v1/instance/domain_blocks", s.api("", false, func(c *call) { writeJSON(c.w, 200, []any{}) }))
	m.HandleFunc("GET /.well-known/nodeinfo", s.nodeinfoLinks)
	m.HandleFunc("GET /nodeinfo/2.0", s.nodeinfo)
	m.HandleFunc("GET /.well-known/webfinger", s.webfinger)

	m.HandleFunc("POST /api/v1/apps", s.apiOpen(s.createApp))
	m.HandleFunc("POST /oauth/token", s.oauthToken)
	m.HandleFunc("GET /oauth/authorize", s.authorizePage)
	m.HandleFunc("POST /oauth/authorize", s.formPost(s.authorizePost))
	m.HandleFunc("GET /oauth/authorize/native", s.nativeCode)
	m.HandleFunc("GET /auth/sign_in", s.signInPage)
	m.HandleFunc("POST /auth/sign_in", s.formPost(s.signInPost))
	m.HandleFunc("GET /auth/sign_up", s.signUpPage)
	m.HandleFunc("POST /auth", s.formPost(s.signUpPost))
	m.HandleFunc("GET /auth/setup", s.setupPage)
	m.HandleFunc("GET /auth/confirmation", s.confirmEmail)

	m.HandleFunc("POST /api/v1/accounts", s.api("write:accounts", false, s.apiSignUp))
	m.HandleFunc("GET /api/v1/accounts/verify_credentials", s.api("read:accounts", true, s.verifyCredentials))
	m.HandleFunc("GET /api/v1/accounts/lookup", s.api("", false, s.lookup))
	m.HandleFunc("GET /api/v1/accounts/relationships", s.api("read:follows", true, s.relationships))
	m.HandleFunc("GET /api/v1/accounts/{id}", s.api("", false, s.getAccount))
	m.HandleFunc("POST /api/v1/accounts/{id}/follow", s.api("write:follows", true, s.follow))
	m.HandleFunc("POST /api/v1/accounts/{id}/unfollow", s.api("write:follows", true, s.unfollow))
	m.HandleFunc("GET /api/v1/accounts/{id}/following", s.api("", false, s.followList(true)))
	m.HandleFunc("GET /api/v1/accounts/{id}/followers", s.api("", false, s.followList(false)))
	m.HandleFunc("GET /api/v1/accounts/{id}/statuses", s.api("", false, s.accountStatuses))
	m.HandleFunc("GET /api/v1/follow_requests", s.api("read:follows", true, func(c *call) { writeJSON(c.w, 200, []any{}) }))
	m.HandleFunc("POST /api/v1/follow_requests/{id}/authorize", s.api("write:follows", true, func(c *call) {
		apiError(c.w, http.StatusNotFound, "Record not found") // accounts are unlocked: no requests
	}))
	m.HandleFunc("GET /api/v1/lists", s.api("read:lists", true, s.getLists))
	m.HandleFunc("POST /api/v1/lists", s.api("write:lists", true, s.createList))
	m.HandleFunc("GET /api/v1/lists/{id}/accounts", s.api("read:lists", true, s.listAccounts))
	m.HandleFunc("POST /api/v1/lists/{id}/accounts", s.api("write:lists", true, s.addToList))
	m.HandleFunc("POST /api/v1/statuses", s.api("write:statuses", true, s.postStatus))

	s.migrationRoutes(m)

	m.HandleFunc("GET /api/v1/admin/accounts", s.api("admin:read:accounts", true, s.adminAccountsV1))
	m.HandleFunc("GET /api/v2/admin/accounts", s.api("admin:read:accounts", true, s.adminAccountsV2))
	m.HandleFunc("GET /api/v1/admin/accounts/{id}", s.api("admin:read:accounts", true, s.adminAccount))
	m.HandleFunc("POST /api/v1/admin/accounts/{id}/approve", s.api("admin:write:accounts", true, s.approve(true)))
	m.HandleFunc("POST /api/v1/admin/accounts/{id}/reject", s.api("admin:write:accounts", true, s.approve(false)))
	return m
}

func (s *Server) rules() []map[string]string {
	out := []map[string]string{}
	for i, t := range s.cfg.Rules {
		out = append(out, map[string]string{"id": strconv.Itoa(i + 1), "text": t, "hint": ""})
	}
	return out
}

func (s *Server) users() int {
	n := 0
	for _, a := range s.accounts {
		if a.confirmed() && a.approved {
			n++
		}
	}
	return n
}

func (s *Server) instance(c *call) {
	var signUpURL, minAge any
	if s.cfg.SignUpURL != "" {
		signUpURL = s.cfg.SignUpURL
	}
	if s.cfg.MinAge > 0 {
		minAge = s.cfg.MinAge
	}
	writeJSON(c.w, 200, map[string]any{
		"domain": s.cfg.Domain, "title": s.cfg.Title, "version": s.cfg.Version,
		"source_url": "https://github.com/mastodon/mastodon", "description": "A Mastodon stand-in",
		"usage":     map[string]any{"users": map[string]int{"active_month": s.users()}},
		"languages": []string{"en"},
		"configuration": map[string]any{
			"urls":     map[string]any{"streaming": "ws://" + s.cfg.Domain},
			"accounts": map[string]int{"max_featured_tags": 10, "max_pinned_statuses": 5},
			"statuses": map[string]int{"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23},
		},
		"registrations": map[string]any{
			"enabled": s.cfg.Mode != None, "approval_required": s.cfg.Mode == Approved,
			"reason_required": s.cfg.Mode == Approved && s.cfg.ReasonRequired,
			"message":         nil, "url": signUpURL, "min_age": minAge,
		},
		"contact": map[string]any{"email": "admin@" + s.cfg.Domain, "account": nil},
		"rules":   s.rules(),
	})
}

func (s *Server) nodeinfoLinks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"links": []map[string]string{{
		"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": s.URL + "/nodeinfo/2.0"}}})
}

func (s *Server) nodeinfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"version":           "2.0",
		"software":          map[string]string{"name": "mastodon", "version": s.cfg.Version},
		"protocols":         []string{"activitypub"},
		"openRegistrations": s.cfg.Mode != None,
		"usage": map[string]any{"users": map[string]int{"total": len(s.accounts), "activeMonth": s.users(), "activeHalfyear": s.users()},
			"localPosts": len(s.statuses)},
		"metadata": map[string]any{},
	})
}

// webfinger answers for every local account, pending ones included
// (Mastodon looks the username up with Account.find_local!).
func (s *Server) webfinger(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := strings.TrimPrefix(r.URL.Query().Get("resource"), "acct:")
	user, domain, _ := strings.Cut(res, "@")
	a := s.byUsername(user)
	if a == nil || !strings.EqualFold(domain, s.cfg.Domain) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json")
	json.NewEncoder(w).Encode(map[string]any{"subject": "acct:" + a.username + "@" + s.cfg.Domain,
		"aliases": []string{s.URL + "/@" + a.username},
		"links":   []map[string]string{{"rel": "self", "type": "application/activity+json", "href": s.URL + "/users/" + a.username}}})
}

func (s *Server) accountJSON(a *account) map[string]any {
	following, followers := 0, 0
	for k := range s.follows {
		if k[0] == a.id {
			following++
		}
		if k[1] == a.id {
			followers++
		}
	}
	sts := 0
	for _, st := range s.statuses {
		if st.account == a.id {
			sts++
		}
	}
	j := map[string]any{
		"id": a.id, "username": a.username, "acct": a.username, "display_name": "", "locked": a.locked,
		"bot": false, "discoverable": true, "group": false, "created_at": iso(a.createdAt.Truncate(24 * time.Hour)),
		"note": "", "url": s.URL + "/@" + a.username, "uri": s.URL + "/users/" + a.username,
		"avatar": s.URL + "/avatars/original/missing.png", "header": s.URL + "/headers/original/missing.png",
		"followers_count": followers, "following_count": following, "statuses_count": sts,
		"emojis": []any{}, "fields": []any{},
	}
	if a.movedTo != nil {
		j["moved"] = s.remoteJSON(a.movedTo)
	}
	return j
}

func (s *Server) verifyCredentials(c *call) {
	j := s.accountJSON(c.me)
	j["source"] = map[string]any{"privacy": "public", "sensitive": false, "language": c.me.locale, "note": "", "fields": []any{}, "follow_requests_count": 0}
	writeJSON(c.w, 200, j)
}

// visible is an account others may see: Mastodon hides accounts whose
// user is unconfirmed or pending from lookups.
func visible(a *account) bool { return a != nil && a.confirmed() && a.approved }

func (s *Server) lookup(c *call) {
	acct := strings.TrimPrefix(c.p.Get("acct"), "@")
	user, domain, _ := strings.Cut(acct, "@")
	a := s.byUsername(user)
	if !visible(a) || (domain != "" && !strings.EqualFold(domain, s.cfg.Domain)) {
		apiError(c.w, http.StatusNotFound, "Record not found")
		return
	}
	writeJSON(c.w, 200, s.accountJSON(a))
}

func (s *Server) target(c *call) *account {
	a := s.accounts[c.r.PathValue("id")]
	if !visible(a) {
		apiError(c.w, http.StatusNotFound, "Record not found")
		return nil
	}
	return a
}

func (s *Server) getAccount(c *call) {
	if a := s.target(c); a != nil {
		writeJSON(c.w, 200, s.accountJSON(a))
	}
}

func (s *Server) relationship(me, other string) map[string]any {
	_, following := s.follows[[2]string{me, other}]
	_, followedBy := s.follows[[2]string{other, me}]
	return map[string]any{"id": other, "following": following, "showing_reblogs": following, "notifying": false,
		"languages": nil, "followed_by": followedBy, "blocking": false, "blocked_by": false, "muting": false,
		"muting_notifications": false, "requested": false, "requested_by": false, "domain_blocking": false,
		"endorsed": false, "note": ""}
}

func (s *Server) relationships(c *call) {
	out := []map[string]any{}
	for _, id := range arrayParam(c.p, "id") {
		if _, ok := s.accounts[id]; ok {
			out = append(out, s.relationship(c.me.id, id))
		}
	}
	writeJSON(c.w, 200, out)
}

// follow is FollowService with the rate limit on: following again
// changes nothing and counts nothing; a new follow counts against the
// follower's daily limit (RateLimiter, family follows) and against the
// 7,500-follows cap (FollowLimitValidator).
func (s *Server) follow(c *call) {
	b := s.target(c)
	if b == nil {
		return
	}
	if b.id == c.me.id {
		apiError(c.w, http.StatusForbidden, "This action is not allowed")
		return
	}
	key := [2]string{c.me.id, b.id}
	if _, ok := s.follows[key]; ok {
		s.stats.FollowRepeats++
		s.followHeaders(c.w.Header(), c.me.id)
		writeJSON(c.w, 200, s.relationship(c.me.id, b.id))
		return
	}
	following, followers := 0, 0
	for k := range s.follows {
		if k[0] == c.me.id {
			following++
		}
		if k[1] == c.me.id {
			followers++
		}
	}
	if following >= s.cfg.FollowingCap && float64(following) >= float64(followers)*1.1 {
		apiError(c.w, http.StatusUnprocessableEntity, "Validation failed: You can't follow more than 7,500 people")
		return
	}
	if e := s.recordFollow(c.me.id); e != nil {
		s.stats.FollowsLimited++
		tooMany(c.w, e)
		return
	}
	s.follows[key] = s.now()
	s.stats.FollowsMade++
	s.followHeaders(c.w.Header(), c.me.id)
	writeJSON(c.w, 200, s.relationship(c.me.id, b.id))
}

func (s *Server) unfollow(c *call) {
	b := s.target(c)
	if b == nil {
		return
	}
	delete(s.follows, [2]string{c.me.id, b.id})
	for _, l := range s.lists {
		if l.owner == c.me.id {
			l.members = slices.DeleteFunc(l.members, func(id string) bool { return id == b.id })
		}
	}
	writeJSON(c.w, 200, s.relationship(c.me.id, b.id))
}

func (s *Server) followList(following bool) func(c *call) {
	return func(c *call) {
		a := s.target(c)
		if a == nil {
			return
		}
		out := []map[string]any{}
		for k := range s.follows {
			switch {
			case following && k[0] == a.id:
				out = append(out, s.accountJSON(s.accounts[k[1]]))
			case !following && k[1] == a.id:
				out = append(out, s.accountJSON(s.accounts[k[0]]))
			}
		}
		writeJSON(c.w, 200, out)
	}
}

func (s *Server) listJSON(l *list) map[string]any {
	return map[string]any{"id": l.id, "title": l.title, "replies_policy": "list", "exclusive": false}
}

func (s *Server) getLists(c *call) {
	out := []map[string]any{}
	for _, l := range s.lists {
		if l.owner == c.me.id {
			out = append(out, s.listJSON(l))
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	writeJSON(c.w, 200, out)
}

func (s *Server) createList(c *call) {
	title := strings.TrimSpace(c.p.Get("title"))
	if title == "" {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: Title can't be blank"})
		return
	}
	l := &list{id: s.nextID(), owner: c.me.id, title: title}
	s.lists[l.id] = l
	writeJSON(c.w, 200, s.listJSON(l))
}

func (s *Server) ownList(c *call) *list {
	l := s.lists[c.r.PathValue("id")]
	if l == nil || l.owner != c.me.id {
		apiError(c.w, http.StatusNotFound, "Record not found")
		return nil
	}
	return l
}

func (s *Server) listAccounts(c *call) {
	l := s.ownList(c)
	if l == nil {
		return
	}
	out := []map[string]any{}
	for _, id := range l.members {
		out = append(out, s.accountJSON(s.accounts[id]))
	}
	writeJSON(c.w, 200, out)
}

// addToList: a list holds only accounts its owner follows (ListAccount
// finds the follow or raises: 404), and an account once (422).
func (s *Server) addToList(c *call) {
	l := s.ownList(c)
	if l == nil {
		return
	}
	ids := arrayParam(c.p, "account_ids")
	for _, id := range ids {
		if _, ok := s.follows[[2]string{c.me.id, id}]; !ok {
			apiError(c.w, http.StatusNotFound, "Record not found")
			return
		}
		if slices.Contains(l.members, id) {
			apiError(c.w, http.StatusUnprocessableEntity, "Validation failed: Account has already been taken")
			return
		}
	}
	l.members = append(l.members, ids...)
	writeJSON(c.w, 200, map[string]any{})
}

func (s *Server) postStatus(c *call) {
	text := c.p.Get("status")
	if strings.TrimSpace(text) == "" || len([]rune(text)) > 500 {
		apiError(c.w, http.StatusUnprocessableEntity, "Validation failed: Text can't be blank or longer than 500 characters")
		return
	}
	if e := s.recordStatus(c.me.id); e != nil {
		tooMany(c.w, e)
		return
	}
	vis := c.p.Get("visibility")
	if vis == "" {
		vis = "public"
	}
	st := &status{id: s.nextID(), account: c.me.id, text: text, visibility: vis, at: s.now()}
	s.statuses = append(s.statuses, st)
	writeJSON(c.w, 200, s.statusJSON(st))
}

func (s *Server) statusJSON(st *status) map[string]any {
	return map[string]any{"id": st.id, "created_at": iso(st.at), "visibility": st.visibility,
		"content": "<p>" + htmlEscape(st.text) + "</p>", "account": s.accountJSON(s.accounts[st.account]),
		"url": s.URL + "/@" + s.accounts[st.account].username + "/" + st.id}
}

func (s *Server) accountStatuses(c *call) {
	a := s.target(c)
	if a == nil {
		return
	}
	out := []map[string]any{}
	for i := len(s.statuses) - 1; i >= 0; i-- {
		if s.statuses[i].account == a.id {
			out = append(out, s.statusJSON(s.statuses[i]))
		}
	}
	writeJSON(c.w, 200, out)
}

// admin checks the Manage Users permission (Owner and Admin roles).
func (s *Server) admin(c *call) bool {
	if !c.me.admin {
		apiError(c.w, http.StatusForbidden, "This action is not allowed")
		return false
	}
	return true
}

func (s *Server) adminJSON(a *account) map[string]any {
	var reason any
	if a.reason != "" {
		reason = a.reason
	}
	var confirmedAt any
	if a.confirmed() {
		confirmedAt = iso(a.confirmedAt)
	}
	return map[string]any{"id": a.id, "username": a.username, "domain": nil, "created_at": iso(a.createdAt),
		"email": a.email, "ip": "127.0.0.1", "ips": []any{}, "locale": a.locale, "invite_request": reason,
		"role": map[string]any{"id": "-99", "name": "", "permissions": "0"}, "confirmed": a.confirmed(),
		"confirmed_at": confirmedAt, "approved": a.approved, "disabled": false, "silenced": false, "suspended": false,
		"account": s.accountJSON(a)}
}

// adminAccounts lists local accounts by Mastodon's filters (v1:
// pending, local; v2: status, origin), oldest last as Mastodon orders.
func (s *Server) adminAccounts(c *call, pending bool) {
	out := []map[string]any{}
	ids := make([]string, 0, len(s.accounts))
	for id := range s.accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	for _, id := range ids {
		a := s.accounts[id]
		if pending && a.approved {
			continue
		}
		out = append(out, s.adminJSON(a))
	}
	writeJSON(c.w, 200, out)
}

func (s *Server) adminAccountsV1(c *call) {
	if s.admin(c) {
		s.adminAccounts(c, c.p.Get("pending") == "true")
	}
}

func (s *Server) adminAccountsV2(c *call) {
	if s.admin(c) {
		s.adminAccounts(c, c.p.Get("status") == "pending")
	}
}

func (s *Server) adminAccount(c *call) {
	if !s.admin(c) {
		return
	}
	a := s.accounts[c.r.PathValue("id")]
	if a == nil {
		apiError(c.w, http.StatusNotFound, "Record not found")
		return
	}
	writeJSON(c.w, 200, s.adminJSON(a))
}

// approve approves or rejects a pending account (AccountPolicy:
// approve? needs the user pending: 403 otherwise). Rejecting deletes it.
func (s *Server) approve(yes bool) func(c *call) {
	return func(c *call) {
		if !s.admin(c) {
			return
		}
		a := s.accounts[c.r.PathValue("id")]
		switch {
		case a == nil:
			apiError(c.w, http.StatusNotFound, "Record not found")
			return
		case a.approved:
			apiError(c.w, http.StatusForbidden, "This action is not allowed")
			return
		}
		j := s.adminJSON(a)
		if yes {
			a.approved = true
			s.stats.Approvals++
			j = s.adminJSON(a)
		} else {
			delete(s.accounts, a.id)
		}
		writeJSON(c.w, 200, j)
	}
}
