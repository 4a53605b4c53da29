#!/usr/bin/env python3
"""A third-party SOAP client against a running SIIS node: zeep reads the WSDL from the node
(and the schemas it imports), then calls ConsultarFichaFPS on both ports (SOAP 1.1 and 1.2).

Driven by tests/it/soap/zeep.rs. Usage:

    soap_zeep.py WSDL_URL CERT KEY CA NUMERO DV UNKNOWN_NUMERO UNKNOWN_DV ID

Prints one JSON object on standard output:

    {"operaciones": {...}, "Soap11": ANSWER, "Soap12": ANSWER, "desconocido": ANSWER,
     "repetido": {"primero": ANSWER, "falla": {"codigo", "estadoSobre", "faultcode"}}}

where ANSWER is {"estadoSobre", "idSobre", "ficha"} (the ficha as zeep decoded it, or null).
Exits 3 when zeep is not installed, 1 on any other failure.
"""

import json
import sys

try:
    import requests
    import zeep
    from zeep.exceptions import Fault
    from zeep.helpers import serialize_object
except ImportError as error:  # pragma: no cover - depends on the machine
    print(f"soap_zeep.py: zeep is not installed ({error}); run: python3 -m pip install zeep",
          file=sys.stderr)
    sys.exit(3)

SOBRE = "http://www.siis.gob.cl/esquemas/sobre/v1"
SERVICE = "ConsultaFichaFPS"


def answer(response):
    data = serialize_object(response)
    encabezado = data.get("encabezado") or {}
    meta = encabezado.get("metadataOperacional") or {}
    cuerpo = data.get("cuerpo")
    return {
        "estadoSobre": meta.get("estadoSobre"),
        "idSobre": encabezado.get("idSobre"),
        "ficha": cuerpo.get("ficha") if cuerpo else None,
    }


def main(argv):
    wsdl, cert, key, ca, numero, dv, unknown_numero, unknown_dv, message_id = argv
    session = requests.Session()
    # Without this, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE silently override `verify`.
    session.trust_env = False
    session.cert = (cert, key)
    session.verify = ca
    transport = zeep.Transport(session=session, timeout=30, operation_timeout=30)
    client = zeep.Client(wsdl, transport=transport)

    out = {"operaciones": {}}
    for service in client.wsdl.services.values():
        for port_name, port in service.ports.items():
            out["operaciones"][port_name] = sorted(port.binding._operations.keys())

    run = {"numero": int(numero), "dv": dv}
    for port in ("Soap11", "Soap12"):
        proxy = client.bind(SERVICE, SERVICE + port)
        out[port] = answer(proxy.ConsultarFichaFPS(cuerpo={"run": run}))

    proxy = client.bind(SERVICE, SERVICE + "Soap11")
    unknown = {"numero": int(unknown_numero), "dv": unknown_dv}
    out["desconocido"] = answer(proxy.ConsultarFichaFPS(cuerpo={"run": unknown}))

    repeated = {"primero": answer(proxy.ConsultarFichaFPS(
        encabezado={"idSobre": message_id}, cuerpo={"run": run}))}
    try:
        proxy.ConsultarFichaFPS(encabezado={"idSobre": message_id}, cuerpo={"run": run})
        repeated["falla"] = None
    except Fault as fault:
        detail = fault.detail
        find = (lambda name: detail.findtext(f".//{{{SOBRE}}}{name}")) if detail is not None \
            else (lambda name: None)
        repeated["falla"] = {
            "faultcode": str(fault.code),
            "codigo": find("codigo"),
            "estadoSobre": find("estadoSobre"),
        }
    out["repetido"] = repeated
    print(json.dumps(out, default=str, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as error:  # report, do not hide: the Rust test shows standard error
        print(f"soap_zeep.py: {type(error).__name__}: {error}", file=sys.stderr)
        raise
