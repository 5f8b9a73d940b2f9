# {{ stub imports }}
