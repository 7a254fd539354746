func benchTraining() { print("Training benchmark: not written yet") }
