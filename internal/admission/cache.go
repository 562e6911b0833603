package admission

import (
	"container/list"
	"sync"
	"time"
)

// verdictCache keeps verdicts by image digest: at most size entries, each
// for ttl, least recently used evicted first. Errors are never cached, so
// a registry that comes back is asked again at once.
type verdictCache struct {
	mu    sync.Mutex
	size  int
	ttl   time.Duration
	now   func() time.Time
	ll    *list.List
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	v       Verdict
	expires time.Time
}

func newVerdictCache(size int, ttl time.Duration, now func() time.Time) *verdictCache {
	return &verdictCache{size: size, ttl: ttl, now: now, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *verdictCache) get(key string) (Verdict, bool) {
	if c.size <= 0 {
		return Verdict{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return Verdict{}, false
	}
	ent := e.Value.(*cacheEntry)
	if !c.now().Before(ent.expires) {
		c.ll.Remove(e)
		delete(c.items, key)
		return Verdict{}, false
	}
	c.ll.MoveToFront(e)
	return ent.v, true
}

func (c *verdictCache) put(key string, v Verdict) {
	if c.size <= 0 || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(c.ttl)
	if e, ok := c.items[key]; ok {
		e.Value.(*cacheEntry).v, e.Value.(*cacheEntry).expires = v, exp
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, v: v, expires: exp})
	for c.ll.Len() > c.size {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

func (c *verdictCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	c.items = map[string]*list.Element{}
}

func (c *verdictCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
