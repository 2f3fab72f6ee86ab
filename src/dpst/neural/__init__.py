"""The objective and its optimisation: VGG-19 features (:mod:`.vgg`), region Gram and content losses
(:mod:`.losses`), masks carried through the network (:mod:`.guides`), their sum (:mod:`.objective`), the
optimiser (:mod:`.lbfgs`); the schedule of stages as data (:mod:`.plan`), the one loop that runs it
(:mod:`.run`) from stage 1's start (:mod:`.start`) on a prepared pair (:mod:`.pair`), and the finish
(:mod:`.finish`)."""
