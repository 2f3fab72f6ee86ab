"""The objective: VGG-19 features (:mod:`.vgg`), region Gram and content losses (:mod:`.losses`), masks
carried through the network (:mod:`.guides`), their sum (:mod:`.objective`) and the optimiser
(:mod:`.lbfgs`)."""
