package router

// The index narrows a request to the matchers that could match it without
// changing which one wins: every list holds matcher ranks (positions in
// priority order) in ascending order, a request consults a few lists, and
// the lowest rank that matches across them is Kong's answer.
//
// Matchers are first bucketed by host: under each exact host when all of a
// matcher's hosts are exact, under each wildcard's fixed part otherwise, and
// in one bucket for matchers without hosts. Within a bucket, a radix tree of
// path prefixes holds the matchers whose paths (plain, or regexes starting
// with literal text) all have a non-empty fixed start; the rest are listed
// apart and always tried.

// bucket holds the matchers of one host key.
type bucket struct {
	paths radix
	other []int32
}

// add files matcher rank under the path keys of e (called in rank order).
func (b *bucket) add(rank int32, e *entry) {
	keys := e.prefixes
	if e.regexes != nil {
		keys = e.literals
	}
	if len(keys) == 0 || hasEmpty(keys) {
		b.other = appendRank(b.other, rank)
		return
	}
	for _, k := range keys {
		b.paths.insert(k, rank)
	}
}

func hasEmpty(keys []string) bool {
	for _, k := range keys {
		if k == "" {
			return true
		}
	}
	return false
}

// appendRank appends rank unless it ends the list already (a matcher filed
// twice under one key).
func appendRank(list []int32, rank int32) []int32 {
	if n := len(list); n > 0 && list[n-1] == rank {
		return list
	}
	return append(list, rank)
}

// radix is a compressed prefix tree: walking a path visits exactly the
// nodes whose key is a prefix of it.
type radix struct {
	root node
}

type node struct {
	label    string  // edge from the parent
	ranks    []int32 // matchers whose key ends here
	children []*node
	first    []byte // first byte of each child's label, for the walk
}

func (t *radix) insert(key string, rank int32) {
	n := &t.root
	for {
		if key == "" {
			n.ranks = appendRank(n.ranks, rank)
			return
		}
		i := indexByte(n.first, key[0])
		if i < 0 {
			child := &node{label: key, ranks: []int32{rank}}
			n.children = append(n.children, child)
			n.first = append(n.first, key[0])
			return
		}
		child := n.children[i]
		common := commonPrefix(child.label, key)
		if common < len(child.label) {
			// Split the edge: child keeps the tail of its label.
			mid := &node{label: child.label[:common], children: []*node{child}, first: []byte{child.label[common]}}
			child.label = child.label[common:]
			n.children[i] = mid
			child = mid
		}
		n, key = child, key[common:]
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
