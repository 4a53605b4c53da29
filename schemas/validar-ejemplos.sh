#!/usr/bin/env bash
# Valida cada ejemplo de schemas/ejemplos/ contra su esquema (xmllint, sin red) y comprueba que
# los WSDL de ../wsdl/ estén bien formados. Sale con estado distinto de cero ante cualquier falla,
# si falta un ejemplo de la tabla o si hay en ejemplos/ un archivo que la tabla no cubre.
#
# Uso: bash schemas/validar-ejemplos.sh   (desde cualquier carpeta; requiere xmllint)
set -uo pipefail

cd "$(dirname "$0")"

if ! command -v xmllint >/dev/null 2>&1; then
  echo "validar-ejemplos: falta xmllint (paquete libxml2-utils)" >&2
  exit 2
fi

# esquema:ejemplo, uno por línea: solicitud y respuesta de cada operación, y el detalle de falla.
PARES="
fichafps-v1.xsd:ConsultarFichaFPS.xml
fichafps-v1.xsd:ConsultarFichaFPSRespuesta.xml
fichafps-v1.xsd:ConsultarFichaFPSLote.xml
fichafps-v1.xsd:ConsultarFichaFPSLoteRespuesta.xml
identidad-v1.xsd:ValidarIdentidad.xml
identidad-v1.xsd:ValidarIdentidadRespuesta.xml
elegibilidad-v1.xsd:ConsultarElegibilidad.xml
elegibilidad-v1.xsd:ConsultarElegibilidadRespuesta.xml
accesos-v1.xsd:ConsultarAccesos.xml
accesos-v1.xsd:ConsultarAccesosRespuesta.xml
estadisticas-v1.xsd:EstadisticasTerritoriales.xml
estadisticas-v1.xsd:EstadisticasTerritorialesRespuesta.xml
metaservicios-v1.xsd:listMethods.xml
metaservicios-v1.xsd:listMethodsRespuesta.xml
metaservicios-v1.xsd:allowedMethods.xml
metaservicios-v1.xsd:allowedMethodsRespuesta.xml
metaservicios-v1.xsd:getWsdl.xml
metaservicios-v1.xsd:getWsdlRespuesta.xml
encuestaje-v1.xsd:SolicitarEncuestaje.xml
encuestaje-v1.xsd:SolicitarEncuestajeRespuesta.xml
encuestaje-v1.xsd:ConsultarEncuestaje.xml
encuestaje-v1.xsd:ConsultarEncuestajeRespuesta.xml
encuestaje-v1.xsd:ListarEncuestajes.xml
encuestaje-v1.xsd:ListarEncuestajesRespuesta.xml
encuestaje-v1.xsd:RegistrarEventoEncuestaje.xml
encuestaje-v1.xsd:RegistrarEventoEncuestajeRespuesta.xml
sobre-v1.xsd:detalle.xml
certificados-v1.xsd:EmitirCertificado.xml
certificados-v1.xsd:EmitirCertificadoRespuesta.xml
recepcionlotes-v1.xsd:RecibirLote.xml
recepcionlotes-v1.xsd:RecibirLoteRespuesta.xml
hogar-v1.xsd:ConsultarHogar.xml
hogar-v1.xsd:ConsultarHogarRespuesta.xml
hogar-v1.xsd:RegistrarEventoHogar.xml
hogar-v1.xsd:RegistrarEventoHogarRespuesta.xml
postulacion-v1.xsd:Postular.xml
postulacion-v1.xsd:PostularRespuesta.xml
postulacion-v1.xsd:ConsultarPostulacion.xml
postulacion-v1.xsd:ConsultarPostulacionRespuesta.xml
postulacion-v1.xsd:ListarPostulaciones.xml
postulacion-v1.xsd:ListarPostulacionesRespuesta.xml
postulacion-v1.xsd:RegistrarEventoPostulacion.xml
postulacion-v1.xsd:RegistrarEventoPostulacionRespuesta.xml
chilesolidario-v1.xsd:IngresarFamiliaCHS.xml
chilesolidario-v1.xsd:IngresarFamiliaCHSRespuesta.xml
chilesolidario-v1.xsd:ConsultarParticipacionCHSPorId.xml
chilesolidario-v1.xsd:ConsultarParticipacionCHSPorIdRespuesta.xml
chilesolidario-v1.xsd:ListarParticipacionesCHS.xml
chilesolidario-v1.xsd:ListarParticipacionesCHSRespuesta.xml
chilesolidario-v1.xsd:RegistrarEventoCHS.xml
chilesolidario-v1.xsd:RegistrarEventoCHSRespuesta.xml
chilesolidario-v1.xsd:ConsultarParticipacionCHS.xml
chilesolidario-v1.xsd:ConsultarParticipacionCHSRespuesta.xml
postulacion-v1.xsd:FijarCupos.xml
postulacion-v1.xsd:FijarCuposRespuesta.xml
postulacion-v1.xsd:ConsultarCupos.xml
postulacion-v1.xsd:ConsultarCuposRespuesta.xml
suscripciones-v1.xsd:Suscribir.xml
suscripciones-v1.xsd:SuscribirRespuesta.xml
suscripciones-v1.xsd:ListarSuscripciones.xml
suscripciones-v1.xsd:ListarSuscripcionesRespuesta.xml
suscripciones-v1.xsd:Desuscribir.xml
suscripciones-v1.xsd:DesuscribirRespuesta.xml
suscripciones-v1.xsd:LeerEventos.xml
suscripciones-v1.xsd:LeerEventosRespuesta.xml
emergencias-v1.xsd:DeclararEmergencia.xml
emergencias-v1.xsd:DeclararEmergenciaRespuesta.xml
emergencias-v1.xsd:ConsultarEmergencia.xml
emergencias-v1.xsd:ConsultarEmergenciaRespuesta.xml
emergencias-v1.xsd:ListarEmergencias.xml
emergencias-v1.xsd:ListarEmergenciasRespuesta.xml
emergencias-v1.xsd:CerrarEmergencia.xml
emergencias-v1.xsd:CerrarEmergenciaRespuesta.xml
emergencias-v1.xsd:RegistrarHogarDamnificado.xml
emergencias-v1.xsd:RegistrarHogarDamnificadoRespuesta.xml
emergencias-v1.xsd:RegistrarAyuda.xml
emergencias-v1.xsd:RegistrarAyudaRespuesta.xml
emergencias-v1.xsd:ConsultarHogarDamnificado.xml
emergencias-v1.xsd:ConsultarHogarDamnificadoRespuesta.xml
emergencias-v1.xsd:ListarHogaresDamnificados.xml
emergencias-v1.xsd:ListarHogaresDamnificadosRespuesta.xml
emergencias-v1.xsd:InformeEmergencia.xml
emergencias-v1.xsd:InformeEmergenciaRespuesta.xml
crececontigo-v1.xsd:IngresarSeguimientoChCC.xml
crececontigo-v1.xsd:IngresarSeguimientoChCCRespuesta.xml
crececontigo-v1.xsd:RegistrarEventoChCC.xml
crececontigo-v1.xsd:RegistrarEventoChCCRespuesta.xml
crececontigo-v1.xsd:ConsultarSeguimientoChCC.xml
crececontigo-v1.xsd:ConsultarSeguimientoChCCRespuesta.xml
crececontigo-v1.xsd:ListarDerivacionesChCC.xml
crececontigo-v1.xsd:ListarDerivacionesChCCRespuesta.xml
crececontigo-v1.xsd:ResponderDerivacionChCC.xml
crececontigo-v1.xsd:ResponderDerivacionChCCRespuesta.xml
"

fallas=0
total=0
cubiertos=" "

for par in $PARES; do
  xsd="${par%%:*}"
  xml="ejemplos/${par#*:}"
  total=$((total + 1))
  cubiertos="$cubiertos${par#*:} "
  if [ ! -f "$xml" ]; then
    echo "FALTA  $xml"
    fallas=$((fallas + 1))
    continue
  fi
  if salida=$(xmllint --noout --nonet --schema "$xsd" "$xml" 2>&1); then
    echo "ok     $xml  ($xsd)"
  else
    echo "FALLA  $xml  ($xsd)"
    echo "$salida" | sed 's/^/       /'
    fallas=$((fallas + 1))
  fi
done

for xml in ejemplos/*; do
  nombre="${xml#ejemplos/}"
  case "$cubiertos" in
    *" $nombre "*) ;;
    *) echo "SOBRA  $xml (no tiene esquema en la tabla de este script)"; fallas=$((fallas + 1)) ;;
  esac
done

# Los lotes de ejemplo en XML (lotes/*.xml) contra el esquema de lotes.
for xml in lotes/*.xml; do
  total=$((total + 1))
  if salida=$(xmllint --noout --nonet --schema lotes-v1.xsd "$xml" 2>&1); then
    echo "ok     $xml  (lotes-v1.xsd)"
  else
    echo "FALLA  $xml  (lotes-v1.xsd)"
    echo "$salida" | sed 's/^/       /'
    fallas=$((fallas + 1))
  fi
done

for wsdl in ../wsdl/*.wsdl; do
  total=$((total + 1))
  if salida=$(xmllint --noout --nonet "$wsdl" 2>&1); then
    echo "ok     ${wsdl#../}  (bien formado)"
  else
    echo "FALLA  ${wsdl#../}"
    echo "$salida" | sed 's/^/       /'
    fallas=$((fallas + 1))
  fi
done

if [ "$fallas" -ne 0 ]; then
  echo "validar-ejemplos: $fallas falla(s) en $total comprobaciones" >&2
  exit 1
fi
echo "validar-ejemplos: $total comprobaciones, todas correctas"
