#!/usr/bin/env python3
"""The delivery benchmark's client (conf/bench/eventos.sh starts the node and the receiver).

1. Burst: one death feed of BURST persons (`POST /api/v1/lotes/defunciones` as srcei); the
   time from its answer (the feed is committed) to the last notification the receiver applied,
   and whether every key was applied exactly once.
2. Paced: RATE deaths a second for SECONDS seconds (a feed of RATE/10 deaths every 100 ms);
   each event's delivery latency, from the registry recording it (`eventos.registrado_us`) to
   the receiver applying it (`claves.recibida_us`): median, p99, maximum.
3. Crash: a feed of CAIDA deaths; once the receiver has applied a quarter of them the node is
   killed with SIGKILL and started again; every key still applied exactly once.

One push subscription (agreement `avisos`) to `defuncion`; the receiver is `siis receptor`.
Only the standard library: the figures must not depend on a client library's version.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from datetime import date, timedelta


def digito(numero):
    """The RUN's check digit (modulo 11)."""
    suma, factor = 0, 2
    while numero:
        suma += (numero % 10) * factor
        numero //= 10
        factor = 2 if factor == 7 else factor + 1
    resto = 11 - suma % 11
    return {11: "0", 10: "K"}.get(resto, str(resto))


class Registro:
    """Read-only queries on the node's registry, SQLite or PostgreSQL."""

    def __init__(self, url):
        self.url = url
        self.sqlite = url[len("sqlite://"):] if url.startswith("sqlite://") else None

    def filas(self, sql):
        if self.sqlite:
            con = sqlite3.connect(f"file:{self.sqlite}?mode=ro", uri=True, timeout=30)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        out = subprocess.run(["psql", self.url, "-XAtq", "-F", ",", "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return [tuple(int(c) if c.lstrip("-").isdigit() else c for c in linea.split(","))
                for linea in out.splitlines() if linea]


class Cliente:
    """HTTPS with a client certificate, one kept-alive connection, reopened when dropped."""

    def __init__(self, port, ca, cert, key):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self.conn = None

    def pedir(self, metodo, path, body=None, ctype=None):
        for intento in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("localhost", self.port,
                                                        context=self.ctx, timeout=300)
            try:
                headers = {"content-type": ctype} if ctype else {}
                self.conn.request(metodo, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if intento:
                    raise
        raise AssertionError("unreachable")


def fallar(mensaje):
    print(f"eventos.py: {mensaje}", file=sys.stderr)
    sys.exit(1)


def percentil(valores, p):
    ordenados = sorted(valores)
    return ordenados[min(len(ordenados) - 1, int(len(ordenados) * p))]


def esperar(claves_db, prefijo, n, limite_s):
    """Waits until the receiver applied n keys of the subscription; their receive times."""
    fin = time.time() + limite_s
    while True:
        con = sqlite3.connect(f"file:{claves_db}?mode=ro", uri=True, timeout=30)
        try:
            (aplicadas,) = con.execute("SELECT count(*) FROM claves WHERE clave LIKE ?",
                                       (prefijo + "%",)).fetchone()
            if aplicadas >= n:
                return {int(c[len(prefijo):]): us for c, us in con.execute(
                    "SELECT clave, recibida_us FROM claves WHERE clave LIKE ?", (prefijo + "%",))}
        finally:
            con.close()
        if time.time() > fin:
            fallar(f"only {aplicadas} of {n} notifications applied after {limite_s} s")
        time.sleep(0.05)


class Nodo:
    """`siis serve` with the environment eventos.sh exported; its log in the work folder."""

    def __init__(self, siis, work):
        self.siis, self.work, self.n, self.proc = siis, work, 0, None

    def arrancar(self):
        self.n += 1
        log = f"{self.work}/node-{self.n}.log"
        with open(log, "w") as err:
            self.proc = subprocess.Popen([self.siis, "serve"], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        fin = time.time() + 120
        while time.time() < fin:
            texto = open(log).read()
            if "node started" in texto:
                agencia = texto.split("agency=", 1)[1].split()[0]
                return int(agencia.rsplit(":", 1)[1])
            if self.proc.poll() is not None:
                fallar(f"the node exited: {texto[-2000:]}")
            time.sleep(0.1)
        fallar("the node did not start within 120 s")

    def matar(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def avisos(self):
        """Lines of the node's logs at WARN or ERROR (the node logs no personal data)."""
        lineas = []
        for i in range(1, self.n + 1):
            with open(f"{self.work}/node-{i}.log") as f:
                lineas += [linea.strip() for linea in f if " WARN " in linea or " ERROR " in linea]
        return lineas


def aplicadas(claves_db, prefijo):
    con = sqlite3.connect(f"file:{claves_db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM claves WHERE clave LIKE ?",
                           (prefijo + "%",)).fetchone()[0]
    finally:
        con.close()


def feed(srcei, runs, fecha):
    cuerpo = "run,fecha_defuncion,comuna\n" + "".join(
        f"{r}-{digito(r)},{fecha},13101\n" for r in runs)
    estado, data = srcei.pedir("POST", "/api/v1/lotes/defunciones", cuerpo.encode(), "text/csv")
    if estado != 200:
        fallar(f"death feed answered {estado}: {data[:300]!r}")
    informe = json.loads(data)
    if informe.get("aplicados") != len(runs):
        fallar(f"death feed applied {informe.get('aplicados')} of {len(runs)}: "
               f"{str(informe)[:500]}")


def pasado(a, registro, srcei, runs, hoy, prefijo, sub, total, pasos, por_paso):
    """RATE deaths a second: each event's latency from its record to the receiver."""
    time.sleep(2)
    inicio = time.time()
    atrasos, duraciones = [], []
    for i in range(pasos):
        programado = inicio + i * 0.1
        espera = programado - time.time()
        if espera > 0:
            time.sleep(espera)
        else:
            atrasos.append(-espera)
        desde = a.burst + i * por_paso
        t = time.time()
        feed(srcei, runs[desde:desde + por_paso], hoy)
        duraciones.append((time.time() - t) * 1e3)
    fin_feeds = time.time()
    recibidas = esperar(a.claves, prefijo, total, 600)
    exactas = sorted(recibidas) == list(range(1, total + 1))
    # The events of the paced phase, with their subscription sequence, from the registry.
    registrados = dict(registro.filas(
        "SELECT en.secuencia, ev.registrado_us FROM entregas en JOIN eventos ev "
        f"ON ev.id = en.evento_id WHERE en.suscripcion_id = '{sub}' "
        f"AND en.secuencia > {a.burst}"))
    latencias = [(recibidas[s] - us) / 1e3 for s, us in registrados.items()]
    if len(latencias) != pasos * por_paso:
        fallar(f"{len(latencias)} paced events in the registry, {pasos * por_paso} sent")
    tarde = max(atrasos) if atrasos else 0.0
    ventanas = {}
    for s, us in registrados.items():
        ventanas.setdefault(int(us / 1e6 - inicio) // 10, []).append((recibidas[s] - us) / 1e3)
    por_ventana = " ".join(f"{percentil(v, 0.99):.0f}" for _, v in sorted(ventanas.items()))
    print(f"paced: {pasos * por_paso} deaths at {a.rate}/s for {a.seconds} s "
          f"(feeds took {fin_feeds - inicio:.1f} s; {len(atrasos)} of {pasos} feeds late, "
          f"at most {tarde * 1e3:.0f} ms); delivery latency from the registry's record: "
          f"median {percentil(latencias, 0.5):.0f} ms, p99 {percentil(latencias, 0.99):.0f} ms, "
          f"max {max(latencias):.0f} ms; keys 1..{total} each applied once: "
          f"{'yes' if exactas else 'NO'}")
    print(f"paced: p99 of each 10 s, in ms: {por_ventana}; each feed of {por_paso} answered "
          f"in a median {percentil(duraciones, 0.5):.0f} ms, p99 "
          f"{percentil(duraciones, 0.99):.0f} ms")
    if not exactas:
        fallar("a key is missing or out of range")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--siis", required=True, help="the binary")
    ap.add_argument("--work", required=True, help="the run's folder (node logs)")
    ap.add_argument("--url", required=True, help="the registry (SIIS__DATABASE__URL)")
    ap.add_argument("--pki", required=True)
    ap.add_argument("--callback", required=True)
    ap.add_argument("--claves", required=True, help="the receiver's SQLite file of keys")
    ap.add_argument("--receptor", type=int, required=True, help="the receiver's port")
    ap.add_argument("--burst", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=1_000)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--caida", type=int, default=20_000)
    a = ap.parse_args()
    nodo = Nodo(os.path.realpath(a.siis), a.work)
    try:
        medir(a, nodo)
    finally:
        nodo.matar()


def medir(a, nodo):
    registro = Registro(a.url)
    # Yesterday: the node's "today" is Chile's (UTC-3 or -4), a few hours behind UTC.
    hoy = (date.today() - timedelta(days=1)).isoformat()
    pasos = a.seconds * 10
    por_paso = a.rate // 10
    total = a.burst + pasos * por_paso
    todas = total + a.caida
    runs = [r for (r,) in registro.filas(
        "SELECT run FROM personas WHERE fecha_defuncion IS NULL "
        f"AND fecha_nacimiento < '2020-01-01' ORDER BY run LIMIT {todas}")]
    if len(runs) < todas:
        fallar(f"the registry has {len(runs)} living persons, {todas} needed: seed more")
    port = nodo.arrancar()

    def cliente(nombre):
        return Cliente(port, f"{a.pki}/ca.pem", f"{a.pki}/clients/{nombre}.pem",
                       f"{a.pki}/clients/{nombre}-key.pem")

    avisos, srcei = cliente("avisos"), cliente("srcei")
    estado, data = avisos.pedir("POST", "/api/v1/suscripciones", json.dumps(
        {"tipos": ["defuncion"], "entrega": "push", "url": a.callback}).encode(),
        "application/json")
    if estado not in (200, 201):
        fallar(f"subscribe answered {estado}: {data[:300]!r}")
    sub = json.loads(data)["id"]
    prefijo = f"{sub}-"

    # 1. The burst.
    t0 = time.time()
    feed(srcei, runs[:a.burst], hoy)
    t1 = time.time()
    recibidas = esperar(a.claves, prefijo, a.burst, 1800)
    ultima = max(recibidas.values()) / 1e6
    exactas = sorted(recibidas) == list(range(1, a.burst + 1))
    print(f"burst: {a.burst} deaths, feed answered in {t1 - t0:.2f} s; last notification "
          f"{ultima - t1:.2f} s after the answer ({a.burst / (ultima - t1):.0f}/s); "
          f"keys 1..{a.burst} each applied once: {'yes' if exactas else 'NO'}")
    if not exactas:
        fallar("a key is missing or out of range")

    # 2. Paced: a feed of por_paso deaths every 100 ms.
    if pasos:
        pasado(a, registro, srcei, runs, hoy, prefijo, sub, total, pasos, por_paso)

    # 3. The crash: kill -9 once a quarter of a feed is applied, start again.
    if a.caida:
        receptor = Cliente(a.receptor, f"{a.pki}/ca.pem", f"{a.pki}/nodo.pem",
                           f"{a.pki}/nodo-key.pem")
        antes = json.loads(receptor.pedir("GET", "/estado")[1])
        feed(srcei, runs[total:todas], hoy)
        while aplicadas(a.claves, prefijo) < total + a.caida // 4:
            time.sleep(0.01)
        nodo.matar()
        muerto = time.time()
        al_morir = aplicadas(a.claves, prefijo)
        nodo.arrancar()
        recibidas = esperar(a.claves, prefijo, todas, 600)
        exactas = sorted(recibidas) == list(range(1, todas + 1))
        despues = json.loads(receptor.pedir("GET", "/estado")[1])
        ((otra_vez,),) = registro.filas(
            "SELECT count(*) FROM entregas WHERE suscripcion_id = "
            f"'{sub}' AND secuencia > {total} AND intentos > 1")
        print(f"crash: {a.caida} deaths, node killed with {al_morir - total} applied, started "
              f"again; the rest applied {max(recibidas.values()) / 1e6 - muerto:.1f} s after "
              f"the kill; events attempted more than once: {otra_vez}; sent again and "
              f"ignored by key: {despues['repetidas'] - antes['repetidas']}; "
              f"keys 1..{todas} each applied "
              f"once: {'yes' if exactas else 'NO'}")
        if not exactas:
            fallar("a key is missing or out of range")

    receptor = Cliente(a.receptor, f"{a.pki}/ca.pem", f"{a.pki}/nodo.pem",
                       f"{a.pki}/nodo-key.pem")
    print(f"receiver: {receptor.pedir('GET', '/estado')[1].decode().strip()}")
    avisos = nodo.avisos()
    print(f"node: {len(avisos)} log lines at WARN or ERROR")
    for linea in avisos[:5]:
        print(f"  {linea[:300]}")


if __name__ == "__main__":
    socket.setdefaulttimeout(300)
    main()
