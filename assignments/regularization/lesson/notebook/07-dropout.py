# {{ stub function dropout }}
