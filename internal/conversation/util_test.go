package conversation_test

import "github.com/parcours/parcours/internal/message/provider"

func providerChannel(ch string) provider.Channel { return provider.Channel(ch) }
