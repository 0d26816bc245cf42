package arrival

import "github.com/lifeboat-social/lifeboat/internal/fedi"

// Client is the engine's API client of the server at base, as
// Config.Client made it: callers that read the destination for a member
// (the web's arrival page) reach it as the engine does.
func (e *Engine) Client(base string) *fedi.Client { return e.client(base) }
