package privacy_test

import "github.com/parcours/parcours/internal/identity"

func identityRaw(kind, value string) identity.Raw {
	return identity.Raw{Kind: identity.Kind(kind), Value: value}
}
